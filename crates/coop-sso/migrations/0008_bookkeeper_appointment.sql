-- Appointing a bookkeeper takes two: a member (or an admin) appoints, the appointee accepts
-- before the role takes effect; admins are told and can withdraw an appointment. And an admin
-- can reset a member's second factor, which signs the member out everywhere.

create table bookkeeper_appointment (
    bookkeeper_appointment_id uuid primary key,
    member_id uuid not null references member on delete cascade,
    appointed_by uuid not null references member on delete cascade,
    created_at timestamptz not null,
    decided_at timestamptz,
    outcome text check (outcome in ('accepted', 'declined', 'withdrawn')),
    decided_by uuid references member on delete set null,
    check ((decided_at is null) = (outcome is null)),
    check (member_id <> appointed_by)
);

-- At most one open appointment per member.
create unique index bookkeeper_appointment_open_idx on bookkeeper_appointment (member_id)
    where decided_at is null;

alter table backchannel_logout drop constraint backchannel_logout_reason_check;
alter table backchannel_logout add constraint backchannel_logout_reason_check check (reason in
    ('signed out', 'session revoked', 'member suspended', 'member left', 'password reset',
     'role removed', 'role needs a second factor', 'second factor reset'));
