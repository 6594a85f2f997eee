-- Usage events are immutable: the rollups and period totals kept from them count inserts only.
-- On the partitioned usage_event the trigger is cloned onto every partition. Retention drops a
-- whole month (DETACH PARTITION, DROP TABLE), which deletes no row and so is not refused.
create or replace trigger usage_event_append_only before update or delete on usage_event
  for each row execute function refuse_change();
