create or replace function guard_credit_block_totals() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' and new.remaining <> 0 then
    raise exception 'a new credit block starts empty; money arrives as ledger entries' using errcode = 'restrict_violation';
  end if;
  if tg_op = 'UPDATE' and new.remaining <> old.remaining and pg_trigger_depth() < 2 then
    raise exception 'a credit block amount changes only through ledger entries' using errcode = 'restrict_violation';
  end if;
  return new;
end $$;
