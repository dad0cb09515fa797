-- The card terminal's day, ended when a shift closes: whether it answered, the total it
-- reported (minor units; null when it reports none), or why it could not be ended. Set once.
alter table shift add column terminal_total integer;
alter table shift add column terminal_problem text;
alter table shift add column terminal_reported integer not null default 0
    check (terminal_reported in (0, 1));

-- The key the payment bridge knows a sale's card payment (or a return's refund) by, so the
-- terminal's own receipt can be fetched to print with the till's, now and on a reprint.
create table card_key (
    sale_id text primary key,
    key text not null check (length(key) between 1 and 100)
) strict;
