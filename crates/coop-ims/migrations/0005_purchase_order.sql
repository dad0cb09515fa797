-- Purchase orders: made from the reorder suggestions for one supplier, edited while a draft,
-- sent (PDF and CSV for the supplier), and received against: what came, what was short, what
-- arrived damaged. Only the good units go into stock.

create table purchase_order (
    purchase_order_id uuid primary key,
    -- The number the supplier quotes back.
    number integer generated always as identity unique,
    supplier_id uuid not null references supplier,
    -- Where the delivery goes.
    location_id uuid not null references location,
    status text not null default 'draft'
        check (status in ('draft', 'sent', 'received', 'cancelled')),
    created_by uuid,
    created_at timestamptz not null default now(),
    sent_at timestamptz,
    received_at timestamptz,
    check ((status in ('sent', 'received')) <= (sent_at is not null)),
    check ((status = 'received') = (received_at is not null))
);

create table purchase_order_line (
    purchase_order_id uuid not null references purchase_order,
    product_id uuid not null references product,
    quantity numeric(14, 3) not null check (quantity > 0 and quantity < 1000000),
    -- The cost when ordered, for the order's value.
    unit_cost numeric(14, 2) not null check (unit_cost >= 0),
    -- On receiving: what came in good order, and what came damaged.
    received numeric(14, 3) check (received is null or received >= 0),
    damaged numeric(14, 3) check (damaged is null or damaged >= 0),
    primary key (purchase_order_id, product_id),
    check ((received is null) = (damaged is null))
);
