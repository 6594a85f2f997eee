-- Applies a statement's entries to their blocks and wallets, once per wallet and block,
-- locking wallets in id order so concurrent writers cannot deadlock.
create or replace function ledger_entry_apply() returns trigger language plpgsql as $$
declare
  short record;
begin
  perform 1 from wallet where id in (select distinct wallet_id from inserted) order by id for no key update;

  if exists (
    select 1 from inserted i join credit_block b on b.id = i.credit_block_id where b.wallet_id <> i.wallet_id
  ) then
    raise exception 'ledger entry booked to a credit block of another wallet' using errcode = 'integrity_constraint_violation';
  end if;

  update credit_block b set remaining = b.remaining + d.total
    from (select credit_block_id, sum(amount) as total from inserted group by credit_block_id) d
   where b.id = d.credit_block_id;

  update wallet w set balance = w.balance + d.total, version = w.version + d.n, updated_at = now()
    from (select wallet_id, sum(amount) as total, count(*) as n from inserted group by wallet_id) d
   where w.id = d.wallet_id;

  -- A debit may not take a HARD or OVERDRAFT wallet below its floor; credits always pass.
  select w.id into short
    from wallet w
    join (select wallet_id, sum(amount) as total from inserted group by wallet_id) d on d.wallet_id = w.id
   where d.total < 0 and w.limit_mode <> 'SOFT' and w.balance < -w.overdraft_limit
   limit 1;
  if found then
    raise exception 'wallet % would fall below its floor', short.id
      using errcode = 'check_violation', constraint = 'wallet_floor';
  end if;
  return null;
end $$;
