-- Who may unlock a till: a cashier or manager sets their own till PIN here, signed in through
-- coop-sso; the tills keep the PIN's argon2 hash and unlock offline with it.

create table cashier (
    -- The member's id at coop-sso.
    sub text primary key check (char_length(sub) between 1 and 200),
    name text not null check (char_length(name) between 1 and 200),
    pin_hash text not null check (pin_hash like '$argon2id$%'),
    manager boolean not null default false,
    updated_at timestamptz not null default now()
);
