-- meter_level_add: the levels RECURRING meters are set to (seats, reserved capacity), kept in the
-- transaction that inserts their events, in meter_level: a table that retention does not touch
-- (usage_event's monthly partitions may be dropped, USAGE_RETENTION_MONTHS), so the level a
-- customer holds carries over into every later period however long ago it was set.
--
-- A statement-level AFTER INSERT trigger on usage_event (transition table new_events). One row
-- per event of a RECURRING meter: customer, meter, set_at (the event's occurred_at), event id,
-- the level (the event's quantity), its dimensions, and the period counters its lines moved
-- (`ck`), which the store's rebuild starts at the level carried into a period. The level at an
-- instant is the row before it with the latest (set_at, event_id): a late event (an older
-- occurred_at) takes its place in time and never overrides a level set after it. Events are
-- immutable, and a row is never written twice (a replayed insert does nothing).
--
-- The events' meters are read by primary key, joined to the events: the commit sessions run
-- with enable_seqscan off (COMMIT_SESSION), and a scan of meter for its RECURRING rows was then
-- planned at a cost that made PostgreSQL JIT-compile it on every commit (50 ms a commit).
create or replace function meter_level_add() returns trigger
language plpgsql
as $fn$
begin
  insert into meter_level (customer_id, meter_id, set_at, event_id, level, dimensions, counters)
  select n.customer_id, n.meter_id, n.occurred_at, n.id, n.quantity, n.dimensions,
         array(select distinct l->>'ck' from jsonb_array_elements(n.lines) l where l ? 'ck' order by 1)
    from new_events n
    join meter m on m.id = n.meter_id
   where m.aggregation = 'RECURRING'
   order by 1, 2, 3, 4
  on conflict do nothing;
  return null;
end
$fn$;
