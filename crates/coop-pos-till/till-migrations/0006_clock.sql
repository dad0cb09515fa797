-- The time clock: workers and volunteers clock in and out at the till with their PIN. Each
-- event is kept until central has it, and never changed (a manager corrects at central).
create table clock_event (
    event_id text primary key,
    sub text not null,
    kind text not null check (kind in ('in', 'out')),
    at text not null,
    uploaded_at text
) strict;

create index clock_event_sub_idx on clock_event (sub, at);
create index clock_event_pending_idx on clock_event (at) where uploaded_at is null;

create trigger clock_event_no_delete before delete on clock_event
begin
    select raise(abort, 'clock events are kept');
end;

create trigger clock_event_no_rewrite before update of event_id, sub, kind, at on clock_event
begin
    select raise(abort, 'clock events are kept');
end;
