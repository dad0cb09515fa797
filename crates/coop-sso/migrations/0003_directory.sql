-- Directory administration: password-reset throttling, how a link was delivered, and a feed
-- whose ids become visible in order.

-- "Forgot password" requests, known address or not, for throttling by address and by client.
-- Kept apart from login_failure so that asking for reset links cannot lock anyone's sign-in.
create table password_reset_request (
    password_reset_request_id bigint generated always as identity primary key,
    email text not null check (char_length(email) <= 254),
    client_ip text not null check (char_length(client_ip) <= 64),
    requested_at timestamptz not null
);

create index password_reset_request_email_idx on password_reset_request (email, requested_at);
create index password_reset_request_ip_idx on password_reset_request (client_ip, requested_at);

-- A link that reached the member by mail proves the address; one the operator handed over
-- (mail not configured) does not.
alter table login_link add column sent_by_mail boolean not null default false;

-- Feed consumers keep the last id they applied and ask for newer ones. With concurrent writers
-- a later id could commit before an earlier one and be skipped for good, so writers of the
-- feed take turns: the lock is taken before any row (and so any id) is made and held until
-- commit. Statement-level BEFORE triggers fire before the identity default is evaluated.
create function member_event_take_turn() returns trigger
language plpgsql as $$
begin
    perform pg_advisory_xact_lock(7201300001);
    return null;
end
$$;

create trigger member_event_take_turn
    before insert on member_event
    for each statement execute function member_event_take_turn();
