-- The till's own store (SQLite, WAL, synchronous=FULL): what it needs to sell with no network
-- for days, and the journal of what it sold. Money is in integer minor units (öre), quantities
-- in thousandths (grams, millilitres, or 1000 per piece).

-- What central told the till about the co-op: currency, VAT classes and rates, tenders, the
-- variable-measure rules, whether sales need a member. One row per key, JSON values.
create table setting (
    key text primary key,
    value text not null
) strict;

-- The catalogue as coop-ims's feed carries it (the newest `product.changed` of each product).
create table product (
    product_id text primary key,
    sku text not null,
    name text not null,
    -- {"sv": "...", "en": "..."}
    names text not null default '{}',
    unit text not null check (unit in ('each', 'kg', 'l')),
    vat_class text not null,
    shelf_price integer not null check (shelf_price >= 0),
    member_price integer check (member_price is null or member_price >= 0),
    active integer not null check (active in (0, 1)),
    -- [{"effective_on": "2026-12-14", "shelf_price": "74.90", "member_price": null}]
    price_changes text not null default '[]',
    -- Eligibility flags for restricted tenders (["fresh"]).
    eligible text not null default '[]'
) strict;

create index product_name_idx on product (name);

create table pack (
    pack_id text primary key,
    product_id text not null references product on delete cascade,
    name text not null,
    units integer not null check (units >= 2),
    shelf_price integer not null check (shelf_price >= 0),
    member_price integer check (member_price is null or member_price >= 0),
    active integer not null check (active in (0, 1))
) strict;

-- Every code that finds something: a GTIN in its 14-digit form, or a PLU.
create table code (
    kind text not null check (kind in ('gtin', 'plu')),
    code text not null,
    product_id text not null references product on delete cascade,
    pack_id text references pack on delete cascade,
    primary key (kind, code)
) strict;

create index code_product_idx on code (product_id);

-- Members as coop-sso's feed carries them: enough to attach one to a sale offline.
create table member (
    sub text primary key,
    member_number text,
    name text not null,
    status text not null,
    member_prices integer not null default 1 check (member_prices in (0, 1)),
    -- Wallet money spent here while coop-finance could not be reached, not yet reconciled.
    offline_spent integer not null default 0
) strict;

create unique index member_number_idx on member (member_number) where member_number is not null;

-- Who may unlock the till, with their PIN's argon2 hash, from central.
create table cashier (
    sub text primary key,
    name text not null,
    pin_hash text not null,
    manager integer not null default 0 check (manager in (0, 1))
) strict;

-- How far each feed has been read.
create table cursor (
    feed text primary key,
    after integer not null
) strict;

-- Open and parked baskets. A reboot mid-sale finds its basket here.
create table basket (
    basket_id text primary key,
    status text not null check (status in ('open', 'parked')),
    cashier text not null,
    member text,
    created_at text not null,
    parked_at text
) strict;

create table basket_line (
    basket_id text not null references basket on delete cascade,
    line_no integer not null,
    product_id text not null,
    pack_id text,
    -- Thousandths of the unit (1000 per piece or pack).
    quantity integer not null check (quantity <> 0),
    -- An open-price or price-embedded line's amount, in minor units.
    fixed_amount integer,
    voided integer not null default 0 check (voided in (0, 1)),
    primary key (basket_id, line_no)
) strict;

-- The sales journal: append-only (the triggers below refuse any change but marking a record
-- uploaded), each record carrying its predecessor's hash.
create table journal (
    seq integer primary key check (seq >= 1),
    sale_id text not null unique,
    record text not null,
    hash text not null unique,
    completed_at text not null,
    uploaded_at text
) strict;

create trigger journal_no_delete before delete on journal
begin
    select raise(abort, 'the sales journal is append-only');
end;

create trigger journal_no_rewrite before update of seq, sale_id, record, hash, completed_at on journal
begin
    select raise(abort, 'the sales journal is append-only');
end;

create trigger journal_uploaded_once before update of uploaded_at on journal
when old.uploaded_at is not null
begin
    select raise(abort, 'a journal record is marked uploaded once');
end;
