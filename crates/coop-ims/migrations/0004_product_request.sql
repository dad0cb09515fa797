-- Product requests: a member asks the shop to stock something, other members add their vote,
-- and a manager accepts or declines with a reason the member reads (and is mailed).

create table product_request (
    product_request_id uuid primary key,
    requested_by uuid not null,
    requester_name text not null check (char_length(requester_name) between 1 and 200),
    -- Where and in which language to tell the member the answer (from their sign-in).
    requester_email text check (requester_email is null or requester_email ~ '^[^@\s]+@[^@\s]+$'),
    requester_lang text not null check (requester_lang ~ '^[a-z]{2}$'),
    title text not null check (char_length(title) between 1 and 200),
    details text check (details is null or char_length(details) <= 1000),
    status text not null default 'open' check (status in ('open', 'accepted', 'declined')),
    reason text check (reason is null or char_length(reason) between 1 and 1000),
    decided_by uuid,
    decided_at timestamptz,
    created_at timestamptz not null default now(),
    check ((status = 'open') = (decided_at is null)),
    check (status <> 'declined' or reason is not null)
);

create index product_request_open_idx on product_request (created_at) where status = 'open';
create index product_request_member_idx on product_request (requested_by);

create table product_request_vote (
    product_request_id uuid not null references product_request,
    member uuid not null,
    created_at timestamptz not null default now(),
    primary key (product_request_id, member)
);
