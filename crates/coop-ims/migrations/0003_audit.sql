-- Stock audits: a full count of a location, or a cycle count of a sample the system proposes.
-- Staff count on a sheet; the count is submitted; a manager approves it, and only then does
-- each difference post as a `counted` movement.

create table audit (
    audit_id uuid primary key,
    location_id uuid not null references location,
    kind text not null check (kind in ('full', 'cycle')),
    status text not null default 'counting'
        check (status in ('counting', 'submitted', 'approved', 'cancelled')),
    created_by uuid,
    created_at timestamptz not null default now(),
    submitted_at timestamptz,
    decided_by uuid,
    decided_at timestamptz,
    check (status = 'cancelled' or (status = 'counting') = (submitted_at is null)),
    check ((status in ('approved', 'cancelled')) = (decided_at is not null))
);

create index audit_open_idx on audit (location_id) where status in ('counting', 'submitted');

create table audit_line (
    audit_id uuid not null references audit,
    product_id uuid not null references product,
    -- What the books said at the moment the count was entered: the difference is measured
    -- against it, so sales between counting and approval are not counted twice.
    expected numeric(16, 3),
    counted numeric(14, 3) check (counted is null or (counted >= 0 and counted < 1000000)),
    counted_at timestamptz,
    counted_by uuid,
    primary key (audit_id, product_id),
    check ((counted is null) = (expected is null) and (counted is null) = (counted_at is null))
);
