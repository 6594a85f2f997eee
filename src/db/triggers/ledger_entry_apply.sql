-- The only way money moves: each insert statement's entries are applied to their credit blocks
-- and wallets once, with the floors checked (src/db/functions/ledger_entry_apply.sql).
create or replace trigger ledger_entry_apply after insert on ledger_entry
  referencing new table as inserted for each statement execute function ledger_entry_apply();
