-- Completing an order settles each member's hold at coop-finance, one call each: the order is
-- first marked `completing` with what each member is to pay (then nothing about it changes),
-- the captures follow (a retry captures the same amounts, which coop-finance answers as done),
-- and once all are settled the order is `completed` and its feed event written. An order that
-- was not sent is `cancelled`: every hold is released.
alter table club_order drop constraint club_order_state_check;
alter table club_order add constraint club_order_state_check
    check (state in ('open', 'closed', 'completing', 'completed', 'cancelled'));

-- The feed event's payload, fixed when completing starts (rates and dates as of then).
alter table club_order add column completion jsonb;
alter table club_order add constraint club_order_completion_check
    check ((state in ('completing', 'completed')) = (completion is not null));

create table settlement (
    order_id uuid not null references club_order on delete cascade,
    member_id uuid not null,
    -- The key of the member's hold at coop-finance, and what it held when completing began.
    hold_key text not null check (char_length(hold_key) between 1 and 200),
    held numeric(14, 2) not null check (held >= 0),
    -- What is captured (0: the hold is given back whole).
    amount numeric(14, 2) not null check (amount >= 0),
    settled_at timestamptz,
    primary key (order_id, member_id)
);

create index settlement_pending_idx on settlement (order_id) where settled_at is null;
