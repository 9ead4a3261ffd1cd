-- Charges budgets in one round trip, all or nothing: for each budget (in the
-- order given, which the caller sorts by name so that requests cannot
-- deadlock) its row is created if needed and locked, the records not yet
-- charged to it are added, and if one budget would go over its limit
-- everything the call did is rolled back (the inner block) and that
-- budget's position and figures are returned. Returns (0, 0, 0) when charged.
CREATE FUNCTION mamori_charge_budgets(
    p_budgets TEXT[], p_limits BIGINT[], p_untils BIGINT[], p_owner INT[], p_records BYTEA[],
    OUT exceeded INT, OUT used BIGINT, OUT would_be BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    k INT;
    u BIGINT;
    fresh BIGINT;
BEGIN
    exceeded := 0; used := 0; would_be := 0;
    BEGIN
        FOR k IN 1 .. coalesce(array_length(p_budgets, 1), 0) LOOP
            INSERT INTO budgets (budget, used, until) VALUES (p_budgets[k], 0, p_untils[k])
                ON CONFLICT DO NOTHING;
            SELECT b.used INTO u FROM budgets b WHERE b.budget = p_budgets[k] FOR UPDATE;
            INSERT INTO budget_records (budget, record)
                SELECT p_budgets[k], x.r FROM unnest(p_records, p_owner) AS x(r, o) WHERE x.o = k
                ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS fresh = ROW_COUNT;
            IF u + fresh > p_limits[k] THEN
                exceeded := k; used := u; would_be := u + fresh;
                RAISE EXCEPTION 'budget exceeded' USING ERRCODE = 'MB001';
            END IF;
            IF fresh > 0 THEN
                UPDATE budgets b SET used = b.used + fresh WHERE b.budget = p_budgets[k];
            END IF;
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'MB001' THEN
        NULL; -- the block's changes are undone; the OUT values say why
    END;
END $$;
