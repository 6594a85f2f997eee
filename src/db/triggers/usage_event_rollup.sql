-- Keeps usage_rollup in the transaction that inserts the events, one upsert per statement
-- (src/db/functions/usage_rollup_add.sql).
create or replace trigger usage_event_rollup after insert on usage_event
  referencing new table as new_events for each statement execute function usage_rollup_add();
