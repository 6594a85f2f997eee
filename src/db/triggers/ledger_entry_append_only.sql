-- Ledger entries are append-only: a correction is a new entry (ADJUSTMENT, VOID).
create or replace trigger ledger_entry_append_only before update or delete on ledger_entry
  for each row execute function refuse_change();
