-- Shifts: a cashier opens the till with a float, takes cash in or out during the day, and closes
-- with the drawer counted. The shift's sales are the journal's records from its first number
-- to its last; its X report is read while it is open, its Z report once it is closed.

create table shift (
    shift_id text primary key,
    opened_by text not null,
    opened_at text not null,
    float integer not null check (float >= 0),
    -- The journal number of the shift's first sale (the last number at opening, plus one).
    first_seq integer not null check (first_seq >= 1),
    closed_by text,
    closed_at text,
    last_seq integer,
    expected integer,
    counted integer check (counted is null or counted >= 0),
    check ((closed_at is null) = (counted is null)),
    check ((closed_at is null) = (closed_by is null)),
    check ((closed_at is null) = (expected is null)),
    check ((closed_at is null) = (last_seq is null))
) strict;

-- One open shift per till.
create unique index shift_one_open_idx on shift ((closed_at is null)) where closed_at is null;

create table cash_movement (
    movement_id text primary key,
    shift_id text not null references shift,
    at text not null,
    kind text not null check (kind in ('in', 'out')),
    amount integer not null check (amount > 0),
    by text not null,
    note text check (note is null or length(note) <= 200)
) strict;

create trigger cash_movement_open_shift before insert on cash_movement
when (select closed_at from shift where shift_id = new.shift_id) is not null
begin
    select raise(abort, 'the shift is closed');
end;
