-- What each member (or household) bought, per VAT rate, as the till and the buyers club told us
-- in their feeds: with the top-ups, the month's batch per member that the bookkeeping asks for.
create table member_purchase (
    member_purchase_id bigint generated always as identity primary key,
    -- The wallet owner's id (coop-sso's member or household id).
    owner_id uuid not null,
    -- The journal entry's source (`coop-pos:sale:…`, `coop-buyers-club:order:…`).
    source_key text not null references journal_entry (source_key),
    bought_on date not null,
    vat_percent numeric(5, 2) not null check (vat_percent >= 0),
    net numeric(14, 2) not null,
    vat numeric(14, 2) not null,
    unique (source_key, owner_id, vat_percent)
);

create index member_purchase_day_idx on member_purchase (bought_on, owner_id);

create trigger member_purchase_append_only before update or delete on member_purchase
    for each row execute function ledger_is_append_only();
