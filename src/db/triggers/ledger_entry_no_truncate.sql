-- TRUNCATE fires no row trigger, so the ledger refuses it on its own.
create or replace trigger ledger_entry_no_truncate before truncate on ledger_entry
  for each statement execute function refuse_change();
