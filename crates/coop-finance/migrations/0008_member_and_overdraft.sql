-- The members as coop-sso's member feed last told us: their number and name for the bookkeepers'
-- pages, their status, and the household whose wallet they spend from when the co-op keeps one
-- wallet per household. Written only by the feed's consumer.
create table member (
    member_id uuid primary key,
    member_number text not null check (char_length(member_number) between 1 and 40),
    name text not null check (char_length(name) <= 200),
    status text not null check (status in ('invited', 'active', 'suspended', 'left')),
    household_id uuid,
    updated_at timestamptz not null default now()
);

create index member_household_idx on member (household_id) where household_id is not null;

-- A till that was offline sold on the wallet up to its own limit per member, without a hold: such
-- a sale is charged when it reaches the books, even where that takes the wallet below zero (the
-- goods are gone). The wallet is then flagged overdrawn, from the first sale that overdrew it
-- until money in brings it back to zero or above. Only a flagged wallet may be below zero, and
-- nothing can be held on it.
alter table wallet add column overdrawn_at timestamptz;
alter table wallet drop constraint wallet_available_not_negative;
alter table wallet add constraint wallet_available_not_negative
    check (balance - held >= 0 or overdrawn_at is not null);

-- `sale`: a till sale paid from the wallet, charged from the sales feed (negative), or given
-- back by a return (positive).
alter table wallet_movement drop constraint wallet_movement_kind_check;
alter table wallet_movement add constraint wallet_movement_kind_check
    check (kind in ('top_up', 'capture', 'adjustment', 'sale'));
