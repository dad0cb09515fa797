-- The member feed moves into the kit's outbox (feed_event, made by the kit's migration 1000001,
-- which runs first), keeping every event's id so that consumers' cursors stay valid. Each event
-- is keyed by its member, so compaction keeps every member's newest state.
insert into feed_event (feed_event_id, occurred_at, kind, version, key, payload)
overriding system value
select member_event_id, occurred_at, type, version, payload ->> 'sub', payload
from member_event
order by member_event_id;

select setval(
    pg_get_serial_sequence('feed_event', 'feed_event_id'),
    coalesce((select max(feed_event_id) from feed_event), 1),
    (select count(*) > 0 from feed_event)
);

drop trigger member_event_take_turn on member_event;
drop function member_event_take_turn();
drop table member_event;

-- coop-sso publishes these kinds and no other.
alter table feed_event add constraint feed_event_kind_known
    check (kind in ('member.created', 'member.changed', 'member.suspended'));
