-- Sign-in (sessions, one-time links, second factor, throttling) and the OpenID provider's state.

alter table member
    add column totp_secret bytea check (totp_secret is null or octet_length(totp_secret) = 20),
    add column totp_last_step bigint,
    -- The `preferred_username` claim: Synapse makes the Matrix id from it, so it is unique,
    -- stable, and a valid Matrix localpart.
    add column username text check (username ~ '^[a-z0-9][a-z0-9._-]{0,31}$');

update member set username = 'member' || member_number where username is null;
alter table member alter column username set not null;
alter table member add constraint member_username_key unique (username);

-- Invite and password-reset links. Only a hash of the token is stored.
create table login_link (
    token_hash bytea primary key check (octet_length(token_hash) = 32),
    member_id uuid not null references member on delete cascade,
    purpose text not null check (purpose in ('invite', 'reset')),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at timestamptz,
    check (expires_at > created_at)
);

create index login_link_member_idx on login_link (member_id);

-- A member's signed-in browser. The cookie holds only the id.
create table web_session (
    web_session_id uuid primary key,
    member_id uuid not null references member on delete cascade,
    created_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    expires_at timestamptz not null,
    revoked_at timestamptz,
    user_agent text not null default '' check (char_length(user_agent) <= 300)
);

create index web_session_member_idx on web_session (member_id) where revoked_at is null;

-- Failed sign-ins, for throttling by account and by address. Old rows are pruned.
create table login_failure (
    login_failure_id bigint generated always as identity primary key,
    email text not null,
    client_ip text not null,
    occurred_at timestamptz not null default now()
);

create index login_failure_email_idx on login_failure (email, occurred_at);
create index login_failure_ip_idx on login_failure (client_ip, occurred_at);

-- RSA keys that sign ID and access tokens. A retired key stays published until the tokens it
-- signed have expired.
create table signing_key (
    kid text primary key,
    private_key_pem text not null,
    created_at timestamptz not null default now(),
    retired_at timestamptz,
    publish_until timestamptz
);

create table authorization_code (
    code_hash bytea primary key check (octet_length(code_hash) = 32),
    client_id text not null,
    member_id uuid not null references member on delete cascade,
    web_session_id uuid references web_session on delete cascade,
    redirect_uri text not null,
    scope text not null,
    nonce text,
    code_challenge text not null,
    auth_time timestamptz not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at timestamptz
);

-- A till paired through the device authorization grant: it gets tokens of its own.
create table till_device (
    till_device_id uuid primary key,
    name text not null check (char_length(btrim(name)) between 1 and 100),
    paired_by uuid references member on delete set null,
    paired_at timestamptz not null default now(),
    revoked_at timestamptz
);

-- Everything issued from one code exchange or pairing: refresh rotation and reuse detection
-- work on it. It belongs to a member or to a till.
create table token_family (
    token_family_id uuid primary key,
    client_id text not null,
    member_id uuid references member on delete cascade,
    till_device_id uuid references till_device on delete cascade,
    web_session_id uuid references web_session on delete set null,
    code_hash bytea,
    scope text not null,
    auth_time timestamptz not null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz,
    revoke_reason text,
    check ((member_id is null) <> (till_device_id is null))
);

create index token_family_code_idx on token_family (code_hash);
create index token_family_member_idx on token_family (member_id) where revoked_at is null;

create table refresh_token (
    token_hash bytea primary key check (octet_length(token_hash) = 32),
    token_family_id uuid not null references token_family on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at timestamptz
);

create index refresh_token_family_idx on refresh_token (token_family_id);

-- Access tokens are self-contained JWTs; this table only lists those revoked early (RFC 7009).
create table revoked_access_token (
    jti uuid primary key,
    expires_at timestamptz not null
);

-- The device authorization grant (RFC 8628) for pairing tills.
create table device_authorization (
    device_code_hash bytea primary key check (octet_length(device_code_hash) = 32),
    user_code text not null check (user_code ~ '^[BCDFGHJKLMNPQRSTVWXZ]{8}$'),
    client_id text not null,
    scope text not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    last_polled_at timestamptz,
    approved_by uuid references member on delete cascade,
    approved_at timestamptz,
    till_device_id uuid references till_device on delete cascade,
    denied_at timestamptz,
    used_at timestamptz,
    constraint device_authorization_user_code_key unique (user_code)
);
