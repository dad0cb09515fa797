-- coop-pos central: the tills and the sales they upload. A till's sales form a hash chain
-- (coop_pos_till::journal); central keeps where each till's chain stands and accepts only the
-- next record in it, so a sale is stored once whatever the retries, and a gap, a changed record
-- or a rewritten history is flagged instead of stored.

create table till (
    -- The till's id at coop-sso: its token's subject is `till:<till_id>`.
    till_id text primary key check (till_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    name text check (name is null or char_length(name) between 1 and 100),
    -- The last record accepted from it, and that record's hash.
    last_seq bigint not null default 0 check (last_seq >= 0),
    last_hash text not null default '0000000000000000000000000000000000000000000000000000000000000000'
        check (last_hash ~ '^[0-9a-f]{64}$'),
    first_seen_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    -- What the till said about its own outbox when it last called: how many sales wait to
    -- upload, and since when.
    pending integer not null default 0 check (pending >= 0),
    pending_since timestamptz,
    -- The first problem with its chain, until a manager has looked.
    flagged_seq bigint,
    flagged_problem text check (flagged_problem is null or char_length(flagged_problem) <= 500),
    flagged_at timestamptz,
    check ((flagged_seq is null) = (flagged_problem is null) and (flagged_seq is null) = (flagged_at is null))
);

create table sale (
    sale_id uuid primary key,
    till_id text not null references till,
    seq bigint not null check (seq >= 1),
    kind text not null check (kind in ('sale', 'return', 'training')),
    business_day date not null,
    completed_at timestamptz not null,
    cashier text not null check (char_length(cashier) between 1 and 200),
    member text check (member is null or char_length(member) between 1 and 200),
    original_sale uuid,
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    total numeric(14, 2) not null,
    rounding numeric(14, 2) not null,
    change numeric(14, 2) not null check (change >= 0),
    prev_hash text not null check (prev_hash ~ '^[0-9a-f]{64}$'),
    hash text not null unique check (hash ~ '^[0-9a-f]{64}$'),
    -- The record exactly as the till sealed it, for verification and receipts.
    record jsonb not null check (jsonb_typeof(record) = 'object'),
    received_at timestamptz not null default now(),
    unique (till_id, seq),
    check (original_sale is null or kind = 'return')
);

create index sale_day_idx on sale (business_day, till_id);
create index sale_member_idx on sale (member, completed_at desc) where member is not null;

create table sale_line (
    sale_id uuid not null references sale,
    line_no integer not null check (line_no >= 1),
    product_id uuid not null,
    pack_id uuid,
    sku text not null,
    name text not null,
    unit text not null check (unit in ('each', 'kg', 'l')),
    quantity numeric(14, 3) not null check (quantity <> 0),
    unit_price numeric(14, 2) not null check (unit_price >= 0),
    vat_percent numeric(5, 2) not null check (vat_percent >= 0 and vat_percent < 100),
    amount numeric(14, 2) not null,
    primary key (sale_id, line_no)
);

create index sale_line_product_idx on sale_line (product_id);

create table sale_tender (
    sale_id uuid not null references sale,
    tender_no integer not null check (tender_no >= 1),
    tender text not null check (char_length(tender) between 1 and 40),
    class text not null check (class in ('cash', 'card', 'wallet', 'restricted')),
    amount numeric(14, 2) not null,
    reference text,
    primary key (sale_id, tender_no)
);
