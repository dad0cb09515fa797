-- The catalogue: suppliers, products, the codes that find them (GTINs of any length, PLUs), packs
-- that sell several units of a product under a barcode of their own, translated names, and price
-- changes scheduled for a date. The feed kinds this service publishes.

alter table feed_event add constraint feed_event_kind_known
    check (kind in ('product.changed', 'stock.moved'));

create table supplier (
    supplier_id uuid primary key,
    name text not null unique check (char_length(name) between 1 and 200),
    email text check (email is null or email ~ '^[^@\s]+@[^@\s]+$'),
    -- Days from ordering to delivery, for reorder suggestions.
    lead_time_days integer not null default 2 check (lead_time_days between 0 and 365),
    created_at timestamptz not null default now()
);

create table product (
    product_id uuid primary key,
    -- The shop's own stock-keeping unit: how staff and suppliers' lists name it.
    sku text not null unique check (char_length(sku) between 1 and 64 and sku !~ '[[:cntrl:]]'),
    -- In the co-op's default language; product_name holds the others.
    name text not null check (char_length(name) between 1 and 200),
    -- each, or a measured unit: the price is per kg or per l.
    unit text not null check (unit in ('each', 'kg', 'l')),
    vat_class text not null check (vat_class ~ '^[a-z][a-z0-9_-]{0,31}$'),
    supplier_id uuid references supplier,
    supplier_article text check (supplier_article is null or char_length(supplier_article) between 1 and 64),
    -- Per unit of sale, in the co-op's currency (its minor units are checked by the service).
    cost numeric(14, 2) not null check (cost >= 0),
    shelf_price numeric(14, 2) not null check (shelf_price >= 0 and shelf_price < 1000000),
    member_price numeric(14, 2) check (member_price is null or (member_price >= 0 and member_price <= shelf_price)),
    -- How many units of sale a supplier's case holds.
    case_size numeric(10, 3) not null default 1 check (case_size > 0),
    active boolean not null default true,
    aisle text check (aisle is null or char_length(aisle) between 1 and 20),
    shelf text check (shelf is null or char_length(shelf) between 1 and 20),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index product_name_idx on product (lower(name) text_pattern_ops);
create index product_supplier_idx on product (supplier_id);

create table product_name (
    product_id uuid not null references product on delete cascade,
    lang text not null check (lang ~ '^[a-z]{2}$'),
    name text not null check (char_length(name) between 1 and 200),
    primary key (product_id, lang)
);

-- A pack: sells `units` of its product at once (a six-pack of the single bottle), at its own
-- price; it holds no stock of its own, a sale takes the units from the product.
create table pack (
    pack_id uuid primary key,
    product_id uuid not null references product,
    name text not null check (char_length(name) between 1 and 200),
    units integer not null check (units between 2 and 10000),
    shelf_price numeric(14, 2) not null check (shelf_price >= 0),
    member_price numeric(14, 2) check (member_price is null or (member_price >= 0 and member_price <= shelf_price)),
    active boolean not null default true
);

-- Every code that finds something, in one table so no GTIN or PLU can mean two things: a GTIN
-- as its 14-digit form (an EAN-13 and the UPC-A inside it are one code), a PLU as typed.
create table product_code (
    kind text not null check (kind in ('gtin', 'plu')),
    code text not null,
    product_id uuid references product on delete cascade,
    pack_id uuid references pack on delete cascade,
    primary key (kind, code),
    check ((product_id is null) <> (pack_id is null)),
    check ((kind = 'gtin' and code ~ '^[0-9]{14}$') or (kind = 'plu' and code ~ '^[0-9]{3,5}$')),
    -- A pack is found by its own barcode, never by a PLU.
    check (pack_id is null or kind = 'gtin')
);

create index product_code_product_idx on product_code (product_id);
create index product_code_pack_idx on product_code (pack_id);

-- A price that takes effect on a date. The price on a day is the latest change on or before it,
-- else the product's own.
create table price_change (
    price_change_id uuid primary key,
    product_id uuid not null references product,
    effective_on date not null,
    shelf_price numeric(14, 2) not null check (shelf_price >= 0 and shelf_price < 1000000),
    member_price numeric(14, 2) check (member_price is null or (member_price >= 0 and member_price <= shelf_price)),
    created_by uuid,
    created_at timestamptz not null default now(),
    unique (product_id, effective_on)
);
