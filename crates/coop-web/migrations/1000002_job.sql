-- Background jobs: a report or an export that takes more than a moment runs here instead of in
-- the request. The page shows its progress; the result is kept for its owner to download for a
-- day (coop_web::jobs).

create table job (
    job_id uuid primary key,
    -- What to run, as the service registered it ("ims.velocity-csv").
    kind text not null check (kind ~ '^[a-z][a-z0-9._-]{0,63}$'),
    params jsonb not null default '{}' check (jsonb_typeof(params) = 'object'),
    -- The member who asked (their `sub`); only they see the job and its result.
    owner text not null check (char_length(owner) between 1 and 200),
    -- The role the owner needed to ask; a member who has lost it no longer sees the result.
    role text not null check (role in ('member', 'cashier', 'manager', 'bookkeeper', 'admin')),
    -- What the page calls it, in the owner's language at the time they asked.
    title text not null check (char_length(title) between 1 and 200),
    status text not null default 'queued'
        check (status in ('queued', 'running', 'done', 'failed')),
    progress real not null default 0 check (progress >= 0 and progress <= 1),
    attempts integer not null default 0 check (attempts >= 0),
    created_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    result bytea,
    result_type text,
    result_name text,
    -- A message for the owner; the cause is in the service's log under the job's id.
    error text,
    check ((status = 'done') = (result is not null)),
    check ((result is null) = (result_type is null) and (result is null) = (result_name is null)),
    check ((status in ('done', 'failed')) = (finished_at is not null)),
    check ((status = 'failed') = (error is not null)),
    check ((status = 'queued') or (started_at is not null))
);

create index job_queue_idx on job (created_at) where status = 'queued';
create index job_owner_idx on job (owner, created_at desc);
