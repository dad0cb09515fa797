-- Holds a till asked for on members' wallets at coop-finance, through central: which till held
-- what for which sale, so that only that till can give it back. The books turn a hold into the
-- charge when the sale arrives in the sales feed (the hold's key at coop-finance is
-- `sale:{sale_id}`); a hold for a sale that did not happen is released by its till.
create table wallet_hold (
    sale_id uuid primary key,
    till_id text not null references till,
    member_id uuid not null,
    amount numeric(14, 2) not null check (amount > 0),
    held_at timestamptz not null default now(),
    released_at timestamptz
);

create index wallet_hold_open_idx on wallet_hold (till_id) where released_at is null;
