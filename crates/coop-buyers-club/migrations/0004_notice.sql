-- Telling members: an order opened, is about to close, closed, completed or was cancelled; a
-- product they bought was taken out; the manager asks to change their purchase after delivery.
-- The change's own transaction writes a `notice` (never more: a mail server or Matrix being
-- down delays messages, never an order); the service's sender fans each out to the co-op's
-- Matrix room and to each member's chosen channels, and sends with retries.
create table notice (
    notice_id uuid primary key,
    kind text not null check (kind in ('opened', 'closing', 'closed', 'completed', 'cancelled',
                                       'removed', 'changed')),
    order_id uuid not null references club_order on delete cascade,
    -- Who it is for: these members; null: every active member (opened, closing) or, for
    -- closed/completed/cancelled, the members with purchases in the order.
    members uuid[],
    -- What the message says beyond the order (a product, quantities, a reason).
    params jsonb not null default '{}',
    created_at timestamptz not null default now(),
    fanned_out_at timestamptz
);

create index notice_pending_idx on notice (created_at) where fanned_out_at is null;

-- One message to send: to the room (member_id null) or to one member by mail or Matrix.
create table notice_delivery (
    notice_id uuid not null references notice on delete cascade,
    channel text not null check (channel in ('room', 'email', 'matrix')),
    member_id uuid,
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    sent_at timestamptz,
    -- Given up after a day of trying (or nowhere to send it): why, without any address.
    gave_up text check (char_length(gave_up) <= 500),
    unique nulls not distinct (notice_id, channel, member_id),
    check ((channel = 'room') = (member_id is null))
);

create index notice_delivery_due_idx on notice_delivery (next_attempt_at)
    where sent_at is null and gave_up is null;

-- How to reach a member, learnt when they sign in here (coop-sso's ID token), and what they
-- want to hear: `choices` holds `<kind>:<channel>` (e.g. `changed:email`).
create table member_contact (
    member_id uuid primary key,
    email text check (char_length(email) <= 320),
    -- Their coop-sso user name, the local part of their Matrix id on the co-op's homeserver.
    username text check (char_length(username) <= 200),
    lang text not null default 'en' check (char_length(lang) between 2 and 10),
    choices text[] not null default array['changed:email', 'changed:matrix', 'removed:email',
        'removed:matrix', 'completed:email', 'cancelled:email'],
    -- Where the member is, if they say (the spec's "address, for mapping"), and whether the
    -- other members see it on the places page (a producer among the members, say).
    address text not null default '' check (char_length(address) <= 500),
    latitude numeric(9, 6) check (latitude between -90 and 90),
    longitude numeric(9, 6) check (longitude between -180 and 180),
    on_map boolean not null default false,
    updated_at timestamptz not null default now(),
    check ((latitude is null) = (longitude is null))
);

-- The direct-message room the bot made with each member.
create table matrix_direct (
    member_id uuid primary key,
    room_id text not null check (char_length(room_id) between 1 and 255)
);

-- The reminder before an order closes is sent once.
alter table club_order add column reminded_at timestamptz;
