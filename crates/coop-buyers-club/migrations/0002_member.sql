-- The members as coop-sso's member feed tells them: the buyers club shows names and member
-- numbers (the sorting view, a member's part), and refuses a member who is not active.
create table member (
    member_id uuid primary key,
    member_number text not null check (char_length(member_number) between 1 and 40),
    name text not null check (char_length(name) <= 200),
    status text not null check (status in ('invited', 'active', 'suspended', 'left')),
    updated_at timestamptz not null default now()
);
