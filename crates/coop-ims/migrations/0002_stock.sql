-- Stock as a ledger of movements per location. On hand is the sum of the movements; the
-- `stock_level` table is that sum kept by a trigger in the same transaction (so reading it is one
-- row), and nothing else may write it.

create table location (
    location_id uuid primary key,
    -- As the config names it (`shop`, `storeroom`).
    code text not null unique check (code ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
    name text not null check (char_length(name) between 1 and 100),
    kind text not null check (kind in ('shop', 'storeroom', 'warehouse'))
);

create table stock_movement (
    stock_movement_id bigint generated always as identity primary key,
    product_id uuid not null references product,
    location_id uuid not null references location,
    kind text not null check (kind in ('received', 'sold', 'returned', 'shrink', 'counted', 'transferred')),
    -- Why stock was lost: only shrink has (and needs) one.
    reason text check (reason in ('spoiled', 'damaged', 'stolen', 'expired')),
    -- In the product's unit of sale; stock grew when positive.
    quantity numeric(14, 3) not null check (quantity <> 0 and abs(quantity) < 1000000),
    -- The unit cost the movement is valued at (the product's cost when it happened).
    unit_cost numeric(14, 2) not null check (unit_cost >= 0),
    occurred_on date not null,
    occurred_at timestamptz not null default now(),
    -- Where it came from (`coop-pos:sale:<id>:<line>`): taken once.
    source_key text unique check (source_key is null or char_length(source_key) between 1 and 200),
    -- The two halves of a transfer share an id.
    transfer_id uuid,
    note text check (note is null or char_length(note) <= 500),
    created_by uuid,
    check ((kind = 'shrink') = (reason is not null)),
    check (kind not in ('received', 'returned') or quantity > 0),
    check (kind not in ('sold', 'shrink') or quantity < 0),
    check ((kind = 'transferred') = (transfer_id is not null))
);

create index stock_movement_product_idx on stock_movement (product_id, occurred_on);
create index stock_movement_day_idx on stock_movement (occurred_on, kind);

create table stock_level (
    product_id uuid not null references product,
    location_id uuid not null references location,
    on_hand numeric(16, 3) not null,
    primary key (product_id, location_id)
);

create function stock_level_follows_movements() returns trigger
language plpgsql as $$
begin
    insert into stock_level (product_id, location_id, on_hand)
    values (new.product_id, new.location_id, new.quantity)
    on conflict (product_id, location_id)
    do update set on_hand = stock_level.on_hand + excluded.on_hand;
    return null;
end
$$;

create trigger stock_movement_level after insert on stock_movement
    for each row execute function stock_level_follows_movements();

-- Movements are never changed or removed: a mistake is corrected by another movement.
create function stock_is_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'stock movements are append-only: record a correcting movement instead'
        using errcode = '23514', constraint = 'stock_append_only';
end
$$;

create trigger stock_movement_append_only before update or delete on stock_movement
    for each row execute function stock_is_append_only();
create trigger stock_movement_no_truncate before truncate on stock_movement
    for each statement execute function stock_is_append_only();

-- stock_level is written only by the trigger above (which runs as the table's owner through
-- the insert on stock_movement): a direct write by the service is refused.
create function stock_level_is_derived() returns trigger
language plpgsql as $$
begin
    if pg_trigger_depth() < 2 then
        raise exception 'stock levels are derived from movements and cannot be written directly'
            using errcode = '23514', constraint = 'stock_level_derived';
    end if;
    return coalesce(new, old);
end
$$;

create trigger stock_level_derived before insert or update or delete on stock_level
    for each row execute function stock_level_is_derived();
