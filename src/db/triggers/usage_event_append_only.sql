-- Usage events are immutable: the rollups and period totals kept from them count inserts only.
create or replace trigger usage_event_append_only before update or delete on usage_event
  for each row execute function refuse_change();
