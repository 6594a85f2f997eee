-- A wallet starts empty and its balance moves only through ledger entries.
create or replace trigger wallet_guard_totals before insert or update on wallet
  for each row execute function guard_wallet_totals();
