-- Records each inserted event's (customer, idempotency key) in usage_event_key, the one place
-- keys are unique across partitions (src/db/functions/usage_event_key_add.sql). Statement
-- triggers fire in name order: this one first, so a taken key fails the statement before the
-- totals are computed.
create or replace trigger usage_event_keys after insert on usage_event
  referencing new table as new_events for each statement execute function usage_event_key_add();
