-- The ledger: a chart of accounts, fiscal years with monthly periods, and a double-entry
-- journal whose entries always balance, are numbered without gaps per series and year, and are
-- never changed: a mistake is undone by a reversing entry.

create table account (
    account_number integer primary key check (account_number between 1000 and 8999),
    name text not null check (char_length(name) between 1 and 100),
    -- asset, liability (with equity), revenue, expense: what the balance sheet and the income
    -- statement sort by. BAS class 1 is assets, 2 liabilities and equity, 3 revenue, 4-8 costs.
    kind text not null check (kind in ('asset', 'liability', 'revenue', 'expense')),
    active boolean not null default true
);

create table fiscal_year (
    fiscal_year_id integer generated always as identity primary key,
    starts_on date not null unique,
    ends_on date not null check (ends_on > starts_on),
    closed_at timestamptz
);

create table fiscal_period (
    fiscal_year_id integer not null references fiscal_year,
    starts_on date not null,
    ends_on date not null check (ends_on >= starts_on),
    closed_at timestamptz,
    closed_by uuid,
    primary key (fiscal_year_id, starts_on)
);

create index fiscal_period_dates_idx on fiscal_period (starts_on, ends_on);

-- Voucher series (A for manual entries, S for sales, ...) and the next number in each year.
create table voucher_series (
    fiscal_year_id integer not null references fiscal_year,
    series text not null check (series ~ '^[A-Z]{1,3}$'),
    next_number integer not null default 1 check (next_number >= 1),
    primary key (fiscal_year_id, series)
);

create table journal_entry (
    journal_entry_id bigint generated always as identity primary key,
    fiscal_year_id integer not null references fiscal_year,
    series text not null,
    number integer not null check (number >= 1),
    entry_date date not null,
    text text not null check (char_length(text) between 1 and 200),
    -- The entry this one reverses; an entry is reversed at most once.
    reverses bigint unique references journal_entry,
    -- Where an entry from another service came from (`coop-pos:sale:...`): posting it twice is
    -- refused, so a feed applied again changes nothing.
    source_key text unique check (source_key is null or char_length(source_key) between 1 and 200),
    created_at timestamptz not null default now(),
    created_by uuid,
    unique (fiscal_year_id, series, number),
    foreign key (fiscal_year_id, series) references voucher_series
);

create table journal_line (
    journal_entry_id bigint not null references journal_entry,
    line_no smallint not null check (line_no >= 1),
    account_number integer not null references account,
    -- Debit positive, credit negative (as in SIE); never zero.
    amount numeric(14, 2) not null check (amount <> 0),
    primary key (journal_entry_id, line_no)
);

create index journal_line_account_idx on journal_line (account_number);

-- Every entry balances and has at least two lines, checked when the transaction commits (the
-- entry and its lines go in together).
create function journal_entry_balances() returns trigger
language plpgsql as $$
declare
    entry bigint := coalesce(new.journal_entry_id, old.journal_entry_id);
    total numeric;
    lines integer;
begin
    select coalesce(sum(amount), 0), count(*) into total, lines
    from journal_line where journal_entry_id = entry;
    if lines < 2 then
        raise exception 'journal entry % has % lines; an entry needs at least two', entry, lines
            using errcode = '23514', constraint = 'journal_entry_balances';
    end if;
    if total <> 0 then
        raise exception 'journal entry % does not balance: its lines sum to %', entry, total
            using errcode = '23514', constraint = 'journal_entry_balances';
    end if;
    return null;
end
$$;

create constraint trigger journal_entry_balances
    after insert on journal_entry deferrable initially deferred
    for each row execute function journal_entry_balances();

create constraint trigger journal_line_balances
    after insert on journal_line deferrable initially deferred
    for each row execute function journal_entry_balances();

-- Entries and their lines are never changed or removed.
create function ledger_is_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'the journal is append-only: reverse an entry instead of changing it'
        using errcode = '23514', constraint = 'ledger_append_only';
end
$$;

create trigger journal_entry_append_only before update or delete on journal_entry
    for each row execute function ledger_is_append_only();
create trigger journal_line_append_only before update or delete on journal_line
    for each row execute function ledger_is_append_only();
create trigger journal_entry_no_truncate before truncate on journal_entry
    for each statement execute function ledger_is_append_only();
create trigger journal_line_no_truncate before truncate on journal_line
    for each statement execute function ledger_is_append_only();

-- An entry goes into an open period of its fiscal year, and a line to an active account.
create function journal_entry_in_open_period() returns trigger
language plpgsql as $$
begin
    if not exists (
        select 1 from fiscal_period p join fiscal_year y using (fiscal_year_id)
        where p.fiscal_year_id = new.fiscal_year_id
          and new.entry_date between p.starts_on and p.ends_on
          and p.closed_at is null and y.closed_at is null
    ) then
        raise exception 'no open period of fiscal year % holds %', new.fiscal_year_id, new.entry_date
            using errcode = '23514', constraint = 'journal_entry_open_period';
    end if;
    return new;
end
$$;

create trigger journal_entry_in_open_period before insert on journal_entry
    for each row execute function journal_entry_in_open_period();

create function journal_line_active_account() returns trigger
language plpgsql as $$
begin
    if not exists (select 1 from account where account_number = new.account_number and active) then
        raise exception 'account % is not an active account', new.account_number
            using errcode = '23514', constraint = 'journal_line_active_account';
    end if;
    return new;
end
$$;

create trigger journal_line_active_account before insert on journal_line
    for each row execute function journal_line_active_account();
