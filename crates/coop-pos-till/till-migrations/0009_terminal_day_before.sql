-- Shifts closed before the terminal's day was ended at the close have no day to end: their
-- "End the terminal's day now" would end today's, under an old shift.
update shift set terminal_reported = 1 where closed_at is not null and terminal_reported = 0;
