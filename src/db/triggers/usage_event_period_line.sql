-- Keeps usage_period_line, usage_period_paid and usage_period_latest in the transaction that
-- inserts the events (src/db/functions/usage_period_line_add.sql).
create or replace trigger usage_event_period_line after insert on usage_event
  referencing new table as new_events for each statement execute function usage_period_line_add();
