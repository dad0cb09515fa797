-- The budget: an amount per result account and month of a fiscal year, in the direction a reader
-- expects (revenue and expenses both positive). Reports set actuals and a forecast beside it.
create table budget (
    fiscal_year_id integer not null references fiscal_year,
    account_number integer not null references account check (account_number >= 3000),
    -- The first day of the month.
    month date not null check (extract(day from month) = 1),
    amount numeric(14, 2) not null check (amount >= 0),
    updated_by uuid,
    updated_at timestamptz not null default now(),
    primary key (fiscal_year_id, account_number, month)
);
