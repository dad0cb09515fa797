-- OpenID Connect Back-Channel Logout: the logout tokens still to be delivered to relying parties,
-- written in the same transaction as the sign-out, suspension, password reset or role change
-- that ends their sessions, and delivered (with retries) by a background task.

alter table token_family add column logout_sent_at timestamptz;

create table backchannel_logout (
    backchannel_logout_id bigint generated always as identity primary key,
    client_id text not null,
    member_id uuid not null references member on delete cascade,
    -- The `sid` of the logout token: the coop-sso session the client's sign-in came through.
    web_session_id uuid not null,
    reason text not null check (reason in
        ('signed out', 'session revoked', 'member suspended', 'member left', 'password reset',
         'role removed', 'role needs a second factor')),
    created_at timestamptz not null,
    attempts integer not null default 0 check (attempts >= 0),
    next_attempt_at timestamptz not null,
    delivered_at timestamptz,
    gave_up_at timestamptz,
    last_error text,
    check (delivered_at is null or gave_up_at is null)
);

create index backchannel_logout_due_idx on backchannel_logout (next_attempt_at)
    where delivered_at is null and gave_up_at is null;
