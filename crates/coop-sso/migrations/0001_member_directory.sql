-- The member directory: households, members, roles, the audit log and the member feed outbox.

create table household (
    household_id uuid primary key,
    name text not null check (char_length(btrim(name)) between 1 and 200),
    created_at timestamptz not null default now()
);

create table member (
    -- The OpenID subject: opaque and stable for life, unlike email or member number.
    member_id uuid primary key,
    member_number integer not null check (member_number > 0),
    name text not null check (char_length(btrim(name)) between 1 and 200),
    email text not null check (email = lower(email) and char_length(email) between 3 and 254),
    email_verified boolean not null default false,
    preferred_lang text not null default 'sv' check (preferred_lang in ('en', 'sv')),
    household_id uuid references household on delete set null,
    status text not null default 'invited'
        check (status in ('invited', 'active', 'suspended', 'left')),
    password_hash text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint member_member_number_key unique (member_number),
    constraint member_email_key unique (email),
    -- An active member can sign in; only invited members may lack a password.
    constraint member_active_has_password check (status <> 'active' or password_hash is not null)
);

create index member_household_idx on member (household_id);
create sequence member_number_seq start 1;

create table member_role (
    member_id uuid not null references member on delete cascade,
    role text not null check (role in ('member', 'cashier', 'manager', 'bookkeeper', 'admin')),
    granted_by uuid references member on delete set null,
    granted_at timestamptz not null default now(),
    primary key (member_id, role)
);

-- Who changed what about whom, and when. Never updated, never deleted.
create table audit_event (
    audit_event_id bigint generated always as identity primary key,
    occurred_at timestamptz not null default now(),
    actor_id uuid references member on delete set null,
    subject_id uuid references member on delete set null,
    action text not null check (action ~ '^[a-z_.]+$'),
    detail jsonb not null default '{}'
);

create index audit_event_subject_idx on audit_event (subject_id, occurred_at);

-- The member feed (GET /api/feed): written in the same transaction as the change.
create table member_event (
    member_event_id bigint generated always as identity primary key,
    occurred_at timestamptz not null default now(),
    type text not null check (type in ('member.created', 'member.changed', 'member.suspended')),
    version integer not null default 1,
    payload jsonb not null
);
