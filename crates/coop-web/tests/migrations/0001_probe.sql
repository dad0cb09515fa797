-- A table for the kit's own tests: proves migrations ran and lets a form write something.
create table probe (probe_id bigint generated always as identity primary key, note text not null);
