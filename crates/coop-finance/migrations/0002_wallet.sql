-- Member wallets: money a member (or a household) has paid in and may spend at the till and in
-- the buyers club. The ledger carries the total as a liability (BAS 2420); these tables carry
-- each wallet's share. Holds reserve money for a purchase that is not final yet.

create table wallet (
    wallet_id uuid primary key,
    -- The member's or household's id at coop-sso (config says which the co-op uses).
    owner_id uuid not null unique,
    -- Confirmed money in, minus money captured.
    balance numeric(14, 2) not null default 0,
    -- The sum of the open holds.
    held numeric(14, 2) not null default 0 check (held >= 0),
    -- Nothing may take the available balance below zero, however many requests race.
    constraint wallet_available_not_negative check (balance - held >= 0),
    created_at timestamptz not null default now()
);

create table wallet_hold (
    wallet_hold_id uuid primary key,
    wallet_id uuid not null references wallet,
    -- The service that holds (`coop-pos`, `coop-buyers-club`) and its own key for the request:
    -- a retried request finds its first answer.
    caller text not null check (char_length(caller) between 1 and 100),
    idempotency_key text not null check (char_length(idempotency_key) between 1 and 200),
    amount numeric(14, 2) not null check (amount > 0),
    status text not null default 'held' check (status in ('held', 'captured', 'released')),
    captured numeric(14, 2) check (captured is null or captured >= 0),
    created_at timestamptz not null default now(),
    settled_at timestamptz,
    unique (caller, idempotency_key),
    check ((status = 'captured') = (captured is not null)),
    check ((status = 'held') = (settled_at is null))
);

create index wallet_hold_open_idx on wallet_hold (wallet_id) where status = 'held';

-- Every change of a wallet's balance, append-only: the balance is their sum.
create table wallet_movement (
    wallet_movement_id bigint generated always as identity primary key,
    wallet_id uuid not null references wallet,
    kind text not null check (kind in ('top_up', 'capture', 'adjustment')),
    amount numeric(14, 2) not null check (amount <> 0),
    wallet_hold_id uuid references wallet_hold,
    journal_entry_id bigint references journal_entry,
    occurred_at timestamptz not null default now()
);

create index wallet_movement_wallet_idx on wallet_movement (wallet_id, wallet_movement_id);

create trigger wallet_movement_append_only before update or delete on wallet_movement
    for each row execute function ledger_is_append_only();
