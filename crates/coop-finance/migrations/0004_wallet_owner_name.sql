-- The name bookkeepers see beside a wallet: the member's (or for a household wallet, the last
-- member's who used it) as coop-sso last told us.
alter table wallet add column owner_name text not null default ''
    check (char_length(owner_name) <= 200);
