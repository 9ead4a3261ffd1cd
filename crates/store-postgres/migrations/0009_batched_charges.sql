-- The charges of the requests that arrive together, in one call: every
-- budget of the batch is created if needed and locked first, in name order
-- (so that two nodes' batches cannot deadlock, whatever their requests),
-- then each request in turn, all or nothing in its own inner block, as in
-- `mamori_charge_budgets`: the customers not yet charged added in byte
-- order, the budget's count raised by them. A request that would take a
-- budget over its limit is undone alone; its row says which of its budgets
-- (1-based, in the order given) and by how much. One row per request.
CREATE FUNCTION mamori_charge_batch(
    p_req INT[], p_budgets TEXT[], p_limits BIGINT[], p_untils BIGINT[],
    p_owner INT[], p_records BYTEA[]
) RETURNS TABLE (req INT, exceeded INT, used BIGINT, would_be BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    n INT := coalesce(array_length(p_budgets, 1), 0);
    k INT := 1;
    j INT;
    lo INT;
    u BIGINT;
    fresh BIGINT;
BEGIN
    INSERT INTO budgets AS b (budget, used, until)
        SELECT DISTINCT ON (x.name) x.name, 0, x.until_
        FROM unnest(p_budgets, p_untils) AS x(name, until_) ORDER BY x.name
        ON CONFLICT DO NOTHING;
    PERFORM 1 FROM budgets b WHERE b.budget = ANY (p_budgets) ORDER BY b.budget FOR UPDATE;
    WHILE k <= n LOOP
        lo := k;
        WHILE k < n AND p_req[k + 1] = p_req[lo] LOOP
            k := k + 1;
        END LOOP;
        req := p_req[lo]; exceeded := 0; used := 0; would_be := 0;
        BEGIN
            FOR j IN lo .. k LOOP
                INSERT INTO budget_records (budget, record)
                    SELECT p_budgets[j], x.r FROM unnest(p_records, p_owner) AS x(r, o)
                    WHERE x.o = j ORDER BY x.r
                    ON CONFLICT DO NOTHING;
                GET DIAGNOSTICS fresh = ROW_COUNT;
                IF fresh > 0 THEN
                    UPDATE budgets b SET used = b.used + fresh WHERE b.budget = p_budgets[j]
                        RETURNING b.used - fresh INTO u;
                ELSE
                    SELECT b.used INTO u FROM budgets b WHERE b.budget = p_budgets[j];
                END IF;
                IF u + fresh > p_limits[j] THEN
                    exceeded := j - lo + 1; used := u; would_be := u + fresh;
                    RAISE EXCEPTION 'budget exceeded' USING ERRCODE = 'MB001';
                END IF;
            END LOOP;
        EXCEPTION WHEN SQLSTATE 'MB001' THEN
            NULL; -- this request's changes are undone; its row says why
        END;
        RETURN NEXT;
        k := k + 1;
    END LOOP;
END $$;
