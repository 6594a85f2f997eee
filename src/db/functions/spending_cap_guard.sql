-- spending_cap_guard: PostgreSQL's own hold on spending caps, as wallet_floor is on balances.
--
-- The reservation store refuses events beyond a postpaid customer's cap, but it is a cache: a
-- store that lost its state must never let postpaid spend pass the cap. After every insert of
-- usage events this trigger adds their postpaid charges (no wallet) to postpaid_spend, per
-- customer, period and currency, and refuses the statement (check_violation, constraint
-- spending_cap) when that total now exceeds the customer's cap in its own currency. The commit
-- that carried the event fails, and the caller answers SPENDING_LIMIT_REACHED.
create or replace function spending_cap_guard() returns trigger
language plpgsql as $fn$
declare
  over record;
begin
  with added as (
    select n.customer_id, n.period_start, n.currency, sum(n.charged) as charged
      from new_events n
     where n.wallet_id is null
     group by 1, 2, 3),
  spent as (
    insert into postpaid_spend as s (customer_id, period_start, currency, charged)
    select a.customer_id, a.period_start, a.currency, a.charged from added a order by 1, 2, 3
    on conflict (customer_id, period_start, currency) do update set charged = s.charged + excluded.charged
    returning s.customer_id, s.period_start, s.currency, s.charged)
  select sp.customer_id, sp.period_start, sp.charged, c.spending_cap into over
    from spent sp join customer c on c.id = sp.customer_id
   where c.spending_cap is not null and sp.currency = c.currency and sp.charged > c.spending_cap
   limit 1;
  if found then
    raise exception 'spending cap of customer % exceeded in the period from %', over.customer_id, over.period_start
      using errcode = 'check_violation', constraint = 'spending_cap',
            detail = format('spent %s of a cap of %s (ledger units)', over.charged, over.spending_cap);
  end if;
  return null;
end
$fn$;
