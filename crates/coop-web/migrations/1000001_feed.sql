-- The kit's feed tables, included by every service (versions from 1000000 up belong to the kit;
-- coop_web::db::with_kit_migrations runs them before the service's own).

-- The outbox: events a service publishes in the same transaction as the change they describe,
-- served at GET /api/feed. Ids only grow and become visible in order (see the trigger below).
create table feed_event (
    feed_event_id bigint generated always as identity primary key,
    occurred_at timestamptz not null default now(),
    kind text not null check (kind ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    version integer not null default 1 check (version > 0),
    -- The thing the event is about (a member's id, a product's SKU). Compaction keeps the newest
    -- event of every key, so reading the feed from the start is a snapshot. Events without a key
    -- are never compacted.
    key text check (key is null or char_length(key) between 1 and 200),
    payload jsonb not null check (jsonb_typeof(payload) = 'object')
);

create index feed_event_key_idx on feed_event (key, feed_event_id) where key is not null;

-- Consumers keep the last id they applied and ask for newer ones. With concurrent writers a
-- later id could commit before an earlier one and be skipped for good, so writers take turns:
-- the lock is taken before any row (and so any id) is made, and held until commit.
-- Statement-level BEFORE triggers fire before the identity default is evaluated.
create function feed_event_take_turn() returns trigger
language plpgsql as $$
begin
    perform pg_advisory_xact_lock(7201300002);
    return null;
end
$$;

create trigger feed_event_take_turn
    before insert on feed_event
    for each statement execute function feed_event_take_turn();

-- Where each feed this service follows has got to, written in the same transaction as the
-- effects of the events it applied.
create table feed_cursor (
    producer text primary key check (char_length(producer) between 1 and 100),
    position bigint not null default 0 check (position >= 0),
    updated_at timestamptz not null default now()
);
