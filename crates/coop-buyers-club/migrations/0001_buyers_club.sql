-- The buyers club: suppliers and their products, which any member keeps; orders from one
-- supplier, each with the products it offers (their price fixed when added), the members'
-- purchases, the manager's changes after delivery and the members' answers to them.

create table supplier (
    supplier_id uuid primary key,
    name text not null check (char_length(btrim(name)) between 1 and 200),
    contact text not null default '' check (char_length(contact) <= 1000),
    -- Where it is, for the producers' list and map.
    address text not null default '' check (char_length(address) <= 500),
    latitude numeric(9, 6) check (latitude between -90 and 90),
    longitude numeric(9, 6) check (longitude between -180 and 180),
    -- An order from it is sent only above this (its default for new orders).
    order_threshold numeric(14, 2) not null default 0 check (order_threshold >= 0),
    -- Days from sending an order to delivery.
    lead_time_days integer not null default 0 check (lead_time_days between 0 and 365),
    created_by uuid not null,
    created_at timestamptz not null default now(),
    -- Deleted suppliers stay for the orders that name them.
    deleted_at timestamptz,
    check ((latitude is null) = (longitude is null))
);

create unique index supplier_name_key on supplier (lower(name)) where deleted_at is null;

create table product (
    product_id uuid primary key,
    supplier_id uuid not null references supplier,
    name text not null check (char_length(btrim(name)) between 1 and 200),
    -- The supplier's own number for it.
    article_id text not null default '' check (char_length(article_id) <= 100),
    -- What one unit is ("kg", "st", "1 l bottle").
    unit text not null check (char_length(btrim(unit)) between 1 and 50),
    -- Units in one of the supplier's cases: orders fill whole cases.
    case_size numeric(14, 3) not null default 1 check (case_size > 0),
    -- What a member pays for one unit, VAT included.
    unit_price numeric(14, 2) not null check (unit_price >= 0),
    vat_class text not null check (char_length(vat_class) between 1 and 50),
    created_by uuid not null,
    created_at timestamptz not null default now(),
    deleted_at timestamptz
);

create unique index product_article_key on product (supplier_id, article_id)
    where deleted_at is null and article_id <> '';
create index product_supplier_idx on product (supplier_id) where deleted_at is null;

create table club_order (
    order_id uuid primary key,
    supplier_id uuid not null references supplier,
    title text not null check (char_length(btrim(title)) between 1 and 200),
    state text not null default 'open' check (state in ('open', 'closed', 'completed')),
    -- The order manager: its creator unless handed to another member.
    manager_id uuid not null,
    created_by uuid not null,
    -- No purchases are taken after this; the order closes by itself then.
    ends_at timestamptz not null,
    -- The order is sent to the supplier only above this total.
    threshold numeric(14, 2) not null default 0 check (threshold >= 0),
    created_at timestamptz not null default now(),
    closed_at timestamptz,
    completed_at timestamptz,
    check ((state = 'open') = (closed_at is null)),
    check ((state = 'completed') = (completed_at is not null))
);

create index club_order_state_idx on club_order (state, ends_at);

-- A product on offer in an order, at the price it had when it was added.
create table order_product (
    order_id uuid not null references club_order on delete cascade,
    product_id uuid not null references product,
    name text not null,
    unit text not null,
    case_size numeric(14, 3) not null check (case_size > 0),
    unit_price numeric(14, 2) not null check (unit_price >= 0),
    vat_class text not null,
    primary key (order_id, product_id)
);

create table purchase (
    order_id uuid not null,
    product_id uuid not null,
    member_id uuid not null,
    quantity numeric(14, 3) not null check (quantity > 0 and quantity < 100000),
    -- How much more the member would take so that cases fill.
    tolerance numeric(14, 3) not null default 0 check (tolerance >= 0 and tolerance < 100000),
    -- Who asked first gets first when cases cannot hold everything.
    rank bigint generated always as identity,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (order_id, product_id, member_id),
    foreign key (order_id, product_id) references order_product on delete cascade
);

create index purchase_member_idx on purchase (member_id, order_id);

-- After delivery, the manager asks to change a purchase (missing goods, a weighed item's real
-- weight); the member approves or disputes. An order completes only with none waiting.
create table purchase_change (
    change_id uuid primary key,
    order_id uuid not null references club_order on delete cascade,
    product_id uuid not null,
    member_id uuid not null,
    -- What was allocated, and what the manager says was delivered (0: none came).
    quantity_before numeric(14, 3) not null check (quantity_before >= 0),
    quantity_after numeric(14, 3) not null check (quantity_after >= 0 and quantity_after < 100000),
    reason text not null check (char_length(btrim(reason)) between 1 and 500),
    state text not null default 'requested' check (state in ('requested', 'approved', 'disputed', 'withdrawn')),
    requested_by uuid not null,
    requested_at timestamptz not null default now(),
    answered_at timestamptz,
    answer_note text not null default '' check (char_length(answer_note) <= 500),
    check ((state = 'requested') = (answered_at is null) or state = 'withdrawn'),
    foreign key (order_id, product_id) references order_product on delete cascade
);

-- One change waiting per purchase at a time.
create unique index purchase_change_waiting_key on purchase_change (order_id, product_id, member_id)
    where state in ('requested', 'disputed');

-- What coop-finance holds of each member's wallet for an order, as far as this service last
-- heard. Its key there is `order:<order>:<member>:<generation>`: a hold that went to zero is
-- released, and a later purchase holds again under the next generation (a released key is
-- never held again).
create table wallet_hold (
    order_id uuid not null references club_order on delete cascade,
    member_id uuid not null,
    generation integer not null default 1 check (generation >= 1),
    amount numeric(14, 2) not null default 0 check (amount >= 0),
    updated_at timestamptz not null default now(),
    primary key (order_id, member_id)
);
