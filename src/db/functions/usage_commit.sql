-- usage_commit: makes a group of reserved usage events durable in one statement (one round
-- trip), in the lock order every writer uses: customer_account rows, then wallets.
--
--   1. raises the version of every customer in the group, in id order;
--   2. sets aside events whose (customer, idempotency key) is already committed (usage_event_key,
--      which keeps every key, across partitions and past retention), or repeated earlier in the
--      group: they are duplicates and are not charged again;
--   3. locks the wallets and gives each event the balance right after it;
--   4. posts one USAGE ledger entry per wallet and credit block (ledger_entry_apply checks floors);
--   5. inserts the events, each with what serving it cost (the cost columns, null when unknown;
--      see rules/README.md, "Cost books") (usage_event_key_add records their keys, then usage_period_line_add,
--      usage_rollup_add and spending_cap_guard run on them); a key taken meanwhile by a
--      concurrent commit raises a serialization failure (in usage_event_key_add), so the caller
--      retries the whole transaction;
--   6. adds them to the period totals (usage_period_total);
--   7. marks the reservations the events settle (all must still be open and unexpired);
--   8. evaluates the customers' alerts (alert_evaluate);
--   9. writes one outbox row per customer: its new version, how many events, what they charged,
--      each wallet's balance and ledger sequence after them, the period spend, the alerts.
--
-- Returns one row per input event: whether it was inserted, its balance after, its customer's
-- version after this commit, and on the first row of each customer the notice of step 9 (with
-- the outbox row's id), which the live updates publish after the commit.
--
-- Every row it reads is found by key: the service calls it on connections that plan for index
-- lookups only, once per connection (COMMIT_SESSION in src/modules/usage/usage.repository.ts).
create or replace function usage_commit(p_events jsonb, p_batch uuid, p_at timestamptz)
returns table (event_id uuid, inserted boolean, balance_after bigint, version bigint, notice jsonb)
language plpgsql as $fn$
declare
  ev usage_event[];
  dups uuid[];
  priced usage_event[];
  versions jsonb;
  n_fresh int;
  n_settles int;
  n_settled int;
  wallets jsonb := '{}';
  alerts jsonb := '{}';
  notices jsonb := '{}';
begin
  -- In the order given: array() keeps the order the function returns the elements in.
  ev := array(select jsonb_populate_recordset(null::usage_event, p_events));

  with bumped as (
    insert into customer_account as a (customer_id, version)
    select c, 1 from (select distinct e.customer_id as c from unnest(ev) e order by 1) s
    on conflict (customer_id) do update set version = a.version + 1
    returning a.customer_id, a.version)
  select jsonb_object_agg(b.customer_id, b.version) into versions from bumped b;

  select coalesce(array_agg(d.id), '{}') into dups from (
    select e.id, e.customer_id, e.idempotency_key,
           row_number() over (partition by e.customer_id, e.idempotency_key order by e.ordinality) as nth
      from unnest(ev) with ordinality as e) d
    left join lateral (select true as taken from usage_event_key u
                        where u.customer_id = d.customer_id and u.idempotency_key = d.idempotency_key) k on true
   where d.nth > 1 or k.taken;

  perform 1 from wallet w
   where w.id in (select e.wallet_id from unnest(ev) e where e.wallet_id is not null and e.id <> all (dups))
   order by w.id for no key update;

  select array_agg(p order by p_ord), count(*) into priced, n_fresh from (
    select (e.id, e.customer_id, e.idempotency_key, e.request_hash, e.meter_id, e.meter_code, e.quantity, e.occurred_at,
            e.dimensions, e."values", e.period_start, e.currency, e.wallet_id, e.amount, e.charged, e.rule_set_key,
            e.rule_set_version, e.rule_set_hash, e.fired_rules, e.lines, e.allocations, p_batch, e.soft_limit_exceeded,
            case when e.wallet_id is null then null
                 else w.balance - sum(e.charged) over (partition by e.wallet_id order by e.ordinality) end,
            e.available_after, e.reservation_id, e.created_at,
            e.cost, e.cost_units, e.cost_source, e.cost_currency, e.cost_book)::usage_event as p,
           e.ordinality as p_ord
      from unnest(ev) with ordinality as e
      left join wallet w on w.id = e.wallet_id
     where e.id <> all (dups)) s;

  if n_fresh > 0 then
    with posted as (
      insert into ledger_entry (wallet_id, credit_block_id, kind, amount, usage_batch_id, created_at)
      select e.wallet_id, (a->>0)::uuid, 'USAGE', -sum((a->>1)::bigint), p_batch, p_at
        from unnest(priced) e cross join lateral jsonb_array_elements(e.allocations) a
       where e.wallet_id is not null
       group by e.wallet_id, (a->>0)::uuid
      having sum((a->>1)::bigint) <> 0
      returning wallet_id)
    select coalesce(jsonb_object_agg(n.wallet_id, n.entries), '{}') into wallets
      from (select wallet_id, count(*) as entries from posted group by wallet_id) n;

    insert into usage_event select * from unnest(priced);

    insert into usage_period_total as t (customer_id, period_start, meter_code, currency, quantity, max_quantity, amount, charged, events)
    select e.customer_id, e.period_start, e.meter_code, e.currency, sum(e.quantity), max(e.quantity), sum(e.amount), sum(e.charged), count(*)
      from unnest(priced) e
     group by 1, 2, 3, 4
     order by 1, 2, 3, 4
    on conflict (customer_id, period_start, meter_code, currency) do update
       set quantity = t.quantity + excluded.quantity, max_quantity = greatest(t.max_quantity, excluded.max_quantity),
           amount = t.amount + excluded.amount, charged = t.charged + excluded.charged, events = t.events + excluded.events;

    select count(*) into n_settles from unnest(priced) e where e.reservation_id is not null;
    if n_settles > 0 then
      update reservation r set status = 'SETTLED', settled_event_id = e.id, updated_at = p_at
        from unnest(priced) e
       where r.id = e.reservation_id and r.status = 'OPEN' and r.expires_at > p_at;
      get diagnostics n_settled = row_count;
      if n_settled <> n_settles then
        raise exception 'reservation closed' using errcode = 'P0001', hint = 'RESERVATION_CLOSED';
      end if;
    end if;

    select coalesce(jsonb_object_agg(g.customer_id, g.list), '{}') into alerts
      from (select x.customer_id, jsonb_agg(alert_json(x) order by x.level) as list
              from alert_evaluate(array(select distinct e.customer_id from unnest(priced) e), p_at) x
             group by x.customer_id) g;

    -- What changed, per customer: each wallet's balance and ledger sequence (its version; the
    -- commit moved it from "from"), the period spend, and the alerts it triggered.
    with per_wallet as (
      select e.customer_id, e.wallet_id, sum(e.charged) as change
        from unnest(priced) e where e.wallet_id is not null group by 1, 2),
    wallet_notes as (
      select pw.customer_id,
             jsonb_object_agg(w.id, jsonb_build_object(
               'currency', w.currency, 'balance', w.balance::text, 'change', (-pw.change)::text,
               'sequence', w.version::text, 'from', (w.version - coalesce((wallets->>w.id::text)::bigint, 0))::text)) as list
        from per_wallet pw join wallet w on w.id = pw.wallet_id
       group by pw.customer_id),
    spend_notes as (
      select s.customer_id, jsonb_agg(jsonb_build_object('currency', s.currency, 'periodStart', s.period_start,
               'charged', t.charged::text)) as list
        from (select distinct e.customer_id, e.currency, e.period_start from unnest(priced) e) s
        join (select customer_id, currency, period_start, sum(charged) as charged from usage_period_total
               where customer_id in (select distinct e.customer_id from unnest(priced) e)
               group by 1, 2, 3) t
          on t.customer_id = s.customer_id and t.currency = s.currency and t.period_start = s.period_start
       group by s.customer_id),
    per_customer as (
      select e.customer_id, count(*) as events, sum(e.charged) as charged from unnest(priced) e group by 1),
    written as (
      insert into outbox (topic, customer_id, payload, created_at)
      select 'usage.committed', c.customer_id,
             jsonb_build_object('version', (versions->>c.customer_id::text)::bigint::text, 'events', c.events,
                                'charged', c.charged::text, 'wallets', coalesce(wn.list, '{}'), 'spend', coalesce(sn.list, '[]'),
                                'alerts', coalesce(alerts->c.customer_id::text, '[]')),
             p_at
        from per_customer c
        left join wallet_notes wn on wn.customer_id = c.customer_id
        left join spend_notes sn on sn.customer_id = c.customer_id
      returning id, customer_id, payload)
    select coalesce(jsonb_object_agg(w.customer_id, w.payload || jsonb_build_object('outboxId', w.id::text)), '{}') into notices
      from written w;
  end if;

  return query
    select e.id, not (e.id = any (dups)), p.balance_after, (versions->>e.customer_id::text)::bigint,
           case when row_number() over (partition by e.customer_id order by e.ordinality) = 1
                then notices->e.customer_id::text end
      from unnest(ev) with ordinality as e
      left join unnest(priced) p on p.id = e.id
     order by e.ordinality;
end
$fn$;
