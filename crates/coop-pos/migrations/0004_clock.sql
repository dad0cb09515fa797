-- The time clock: what the tills' clocks sent (each event once, by its id), and a manager's
-- corrections: a missing clocking added with the reason, a wrong one voided with the reason.
-- Nothing is deleted or changed but the voiding, so the hours report can always be explained.
create table clock_event (
    event_id uuid primary key,
    sub text not null check (char_length(sub) between 1 and 200),
    kind text not null check (kind in ('in', 'out')),
    at timestamptz not null,
    -- The till it was clocked at; null for a manager's correction.
    till_id text references till,
    -- A correction names who made it and why.
    recorded_by text check (recorded_by is null or char_length(recorded_by) between 1 and 200),
    reason text check (reason is null or char_length(reason) between 1 and 500),
    voided_at timestamptz,
    voided_by text,
    void_reason text check (void_reason is null or char_length(void_reason) between 1 and 500),
    received_at timestamptz not null default now(),
    check ((till_id is null) = (recorded_by is not null)),
    check ((recorded_by is null) = (reason is null)),
    check ((voided_at is null) = (voided_by is null)),
    check ((voided_at is null) = (void_reason is null))
);

create index clock_event_sub_idx on clock_event (sub, at);
create index clock_event_at_idx on clock_event (at);

create function clock_event_kept() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        raise exception 'clock events are kept';
    end if;
    if new.event_id <> old.event_id or new.sub <> old.sub or new.kind <> old.kind
       or new.at <> old.at or new.till_id is distinct from old.till_id
       or new.recorded_by is distinct from old.recorded_by
       or new.reason is distinct from old.reason
       or old.voided_at is not null then
        raise exception 'a clock event is only ever voided, once';
    end if;
    return new;
end $$;

create trigger clock_event_kept before update or delete on clock_event
    for each row execute function clock_event_kept();
