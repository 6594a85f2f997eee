-- Balances move only through ledger_entry_apply (trigger depth 2 when it runs), and rows
-- start empty so that every unit of a balance has a ledger entry behind it.
create or replace function guard_wallet_totals() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' and (new.balance <> 0 or new.version <> 0) then
    raise exception 'a new wallet starts empty; money arrives as ledger entries' using errcode = 'restrict_violation';
  end if;
  if tg_op = 'UPDATE' and (new.balance <> old.balance or new.version <> old.version) and pg_trigger_depth() < 2 then
    raise exception 'a wallet balance changes only through ledger entries' using errcode = 'restrict_violation';
  end if;
  return new;
end $$;
