-- Budgets shared by every node: distinct customers shown per person per
-- day and per grant. A request locks its budgets' rows while it charges them.
CREATE TABLE budgets (
    budget TEXT COLLATE "C" PRIMARY KEY,
    used BIGINT NOT NULL,
    until BIGINT NOT NULL
);
CREATE INDEX budgets_until ON budgets(until);
CREATE TABLE budget_records (
    budget TEXT COLLATE "C" NOT NULL REFERENCES budgets(budget),
    record BYTEA NOT NULL,
    PRIMARY KEY (budget, record)
);
