-- A credit block starts empty and its remaining amount moves only through ledger entries.
create or replace trigger credit_block_guard_totals before insert or update on credit_block
  for each row execute function guard_credit_block_totals();
