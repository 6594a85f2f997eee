-- Keeps postpaid_spend and refuses a statement that takes a customer past its spending cap
-- (src/db/functions/spending_cap_guard.sql).
create or replace trigger usage_event_spending_cap after insert on usage_event
  referencing new table as new_events for each statement execute function spending_cap_guard();
