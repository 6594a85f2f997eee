-- Keeps meter_level, the levels of RECURRING meters, in the transaction that inserts the events
-- (src/db/functions/meter_level_add.sql).
create or replace trigger usage_event_meter_level after insert on usage_event
  referencing new table as new_events for each statement execute function meter_level_add();
