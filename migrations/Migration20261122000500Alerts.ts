import { Migration } from '@mikro-orm/migrations';
import { USAGE_COMMIT_V1 } from './Migration20261122000400UsageCommit.js';

/**
 * Live updates, alerts and webhooks.
 *
 * - usage_period_total: per customer, billing period, meter and currency, the running totals of
 *   committed usage (quantity, amount, charge, events). Period spend and meter usage read here,
 *   for alerts now and for invoices and usage queries later.
 * - alert_definition: a threshold on a wallet's balance or available balance, on the period's
 *   spend, on a meter's usage, or on the percent used of the spending cap or of an allowance;
 *   with a direction and an optional recurrence. Definitions without a customer are the defaults
 *   copied onto every new wallet (of their currency, or of any).
 * - alert_state: per definition, the highest level crossed (-1: none) in the current period.
 * - alert: every crossing, once. webhook_delivery: one per alert and endpoint, written in the
 *   same transaction; webhook_attempt: the delivery log.
 *
 * alert_evaluate(customers, at) compares every enabled definition of the customers with the
 * current values and records the crossings. Callers run it in the transaction that changed the
 * values; it locks each definition's state row, so concurrent transactions that cross the same
 * threshold record one alert between them, and a crossing survives any restart with its commit.
 *
 * usage_commit is replaced: it keeps period totals, evaluates alerts, and returns on the first
 * row of each customer a notice of what changed (wallet balances with their ledger sequence,
 * period spend, alerts, the outbox row), which the live updates publish after the commit.
 */
export class Migration20261122000500Alerts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table usage_period_total (
  customer_id uuid not null references customer (id),
  period_start timestamptz not null,
  meter_code varchar(64) not null,
  currency varchar(32) not null,
  quantity numeric not null default 0,
  max_quantity numeric not null default 0,
  amount numeric not null default 0,
  charged bigint not null default 0,
  events bigint not null default 0,
  primary key (customer_id, period_start, meter_code, currency)
);

insert into usage_period_total (customer_id, period_start, meter_code, currency, quantity, max_quantity, amount, charged, events)
select customer_id, period_start, meter_code, currency, sum(quantity), max(quantity), sum(amount), sum(charged), count(*)
  from usage_event group by 1, 2, 3, 4;

create table alert_definition (
  id uuid primary key,
  customer_id uuid references customer (id),
  wallet_id uuid references wallet (id),
  currency varchar(32),
  name varchar(200) not null,
  metric varchar(24) not null check (metric in ('WALLET_BALANCE', 'WALLET_AVAILABLE', 'PERIOD_SPEND', 'METER_USAGE', 'SPENDING_CAP_USED', 'ALLOWANCE_USED')),
  meter_code varchar(64),
  direction varchar(8) not null check (direction in ('BELOW', 'ABOVE')),
  threshold numeric not null,
  every numeric check (every > 0),
  allowance numeric check (allowance > 0),
  top_up_amount numeric check (top_up_amount > 0),
  top_up_target numeric check (top_up_target > 0),
  enabled boolean not null default true,
  deleted_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  constraint alert_definition_wallet_metric check ((metric in ('WALLET_BALANCE', 'WALLET_AVAILABLE')) = (wallet_id is not null or customer_id is null)),
  constraint alert_definition_meter check ((metric in ('METER_USAGE', 'ALLOWANCE_USED')) = (meter_code is not null)),
  constraint alert_definition_allowance check ((metric = 'ALLOWANCE_USED') = (allowance is not null)),
  constraint alert_definition_top_up check (
    (top_up_amount is null and top_up_target is null)
    or (metric = 'WALLET_AVAILABLE' and direction = 'BELOW' and (top_up_amount is null) <> (top_up_target is null)))
);
create index alert_definition_customer on alert_definition (customer_id) where deleted_at is null;

create table alert_state (
  definition_id uuid primary key references alert_definition (id),
  period_start timestamptz,
  level int not null default -1,
  value numeric,
  updated_at timestamptz
);

create table alert (
  id uuid primary key,
  definition_id uuid not null references alert_definition (id),
  customer_id uuid not null references customer (id),
  wallet_id uuid references wallet (id),
  name varchar(200) not null,
  metric varchar(24) not null,
  meter_code varchar(64),
  direction varchar(8) not null,
  level int not null,
  threshold numeric not null,
  value numeric not null,
  period_start timestamptz,
  top_up_amount numeric,
  created_at timestamptz not null
);
create index alert_customer on alert (customer_id, id);

create table webhook_endpoint (
  id uuid primary key,
  url varchar(2048) not null,
  secret varchar(128) not null,
  description varchar(200),
  topics varchar(64)[] not null,
  enabled boolean not null default true,
  consecutive_failures int not null default 0,
  disabled_at timestamptz,
  disabled_reason varchar(500),
  created_at timestamptz not null,
  updated_at timestamptz not null
);

create table webhook_delivery (
  id uuid primary key,
  endpoint_id uuid not null references webhook_endpoint (id),
  topic varchar(64) not null,
  event_id uuid not null,
  payload jsonb not null,
  status varchar(16) not null default 'PENDING' check (status in ('PENDING', 'DELIVERED', 'FAILED')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null,
  locked_until timestamptz,
  delivered_at timestamptz,
  created_at timestamptz not null,
  constraint webhook_delivery_once unique (endpoint_id, event_id)
);
create index webhook_delivery_due on webhook_delivery (next_attempt_at) where status = 'PENDING';
create index webhook_delivery_endpoint on webhook_delivery (endpoint_id, created_at);

create table webhook_attempt (
  id bigint generated always as identity primary key,
  delivery_id uuid not null references webhook_delivery (id),
  attempt int not null,
  attempted_at timestamptz not null,
  status_code int,
  error varchar(500),
  duration_ms int not null
);
create index webhook_attempt_delivery on webhook_attempt (delivery_id, attempt);

-- The level of a value against a definition: -1 when not crossed; with a recurrence, how many
-- steps beyond the threshold (ABOVE: reached threshold + level * every; BELOW: fell under
-- threshold - level * every).
create function alert_level(p_direction varchar, p_threshold numeric, p_every numeric, p_value numeric)
returns int language sql immutable as $$
  select case
    when p_direction = 'ABOVE' and p_value >= p_threshold
      then case when p_every is null then 0 else least(floor((p_value - p_threshold) / p_every), 1000000000)::int end
    when p_direction = 'BELOW' and p_value < p_threshold
      then case when p_every is null then 0 else least(ceil((p_threshold - p_value) / p_every) - 1, 1000000000)::int end
    else -1 end
$$;

-- An alert as the live updates and webhooks carry it: numbers as decimal strings.
create function alert_json(a alert) returns jsonb language sql immutable as $$
  select jsonb_build_object(
    'id', a.id, 'definitionId', a.definition_id, 'customerId', a.customer_id, 'walletId', a.wallet_id,
    'name', a.name, 'metric', a.metric, 'meterCode', a.meter_code, 'direction', a.direction, 'level', a.level,
    'threshold', trim_scale(a.threshold)::text, 'value', trim_scale(a.value)::text, 'periodStart', a.period_start,
    'topUpAmount', trim_scale(a.top_up_amount)::text, 'createdAt', a.created_at)
$$;

create function alert_evaluate(p_customers uuid[], p_at timestamptz)
returns setof alert
language plpgsql
set enable_seqscan = off
as $fn$
declare
  d record;
  st alert_state;
  v numeric;
  per timestamptz;
  old_level int;
  new_level int;
  lvl int;
  a alert;
begin
  insert into alert_state (definition_id)
  select ad.id from alert_definition ad
   where ad.customer_id = any (p_customers) and ad.deleted_at is null and ad.enabled
  on conflict do nothing;

  for d in
    select ad.*, c.spending_cap, c.currency as customer_currency
      from alert_definition ad join customer c on c.id = ad.customer_id
     where ad.customer_id = any (p_customers) and ad.deleted_at is null and ad.enabled
     order by ad.id
  loop
    -- One transaction at a time per definition: the second sees what the first recorded.
    select * into st from alert_state s where s.definition_id = d.id for update;
    per := null;
    v := null;
    if d.metric in ('WALLET_BALANCE', 'WALLET_AVAILABLE') then
      select w.balance::numeric / 1000000000 into v from wallet w where w.id = d.wallet_id;
      if d.metric = 'WALLET_AVAILABLE' then
        v := v - coalesce((select sum(r.amount) from reservation r
                            where r.customer_id = d.customer_id and r.wallet_id = d.wallet_id and r.status = 'OPEN'), 0)::numeric / 1000000000;
      end if;
    else
      select max(t.period_start) into per from usage_period_total t where t.customer_id = d.customer_id and t.period_start <= p_at;
      if per is null then continue; end if;
      if d.metric in ('PERIOD_SPEND', 'SPENDING_CAP_USED') then
        select coalesce(sum(t.charged), 0)::numeric / 1000000000 into v
          from usage_period_total t
         where t.customer_id = d.customer_id and t.period_start = per and t.currency = coalesce(d.currency, d.customer_currency);
        if d.metric = 'SPENDING_CAP_USED' then
          if d.spending_cap is null or d.spending_cap = 0 then continue; end if;
          v := v * 100 / (d.spending_cap::numeric / 1000000000);
        end if;
      else
        select coalesce(sum(t.quantity), 0) into v
          from usage_period_total t
         where t.customer_id = d.customer_id and t.period_start = per and t.meter_code = d.meter_code;
        if d.metric = 'ALLOWANCE_USED' then v := v * 100 / d.allowance; end if;
      end if;
    end if;
    if v is null then continue; end if;

    new_level := alert_level(d.direction, d.threshold, d.every, v);
    old_level := case when st.period_start is distinct from per then -1 else st.level end;
    if new_level > old_level then
      -- Each level crossed is its own crossing; a jump over very many records the last ten.
      for lvl in greatest(old_level + 1, new_level - 9) .. new_level loop
        insert into alert (id, definition_id, customer_id, wallet_id, name, metric, meter_code, direction, level,
                           threshold, value, period_start, top_up_amount, created_at)
        values (gen_random_uuid(), d.id, d.customer_id, d.wallet_id, d.name, d.metric, d.meter_code, d.direction, lvl,
                case when d.direction = 'ABOVE' then d.threshold + lvl * coalesce(d.every, 0)
                     else d.threshold - lvl * coalesce(d.every, 0) end,
                trim_scale(round(v, 9)), per,
                case when d.top_up_amount is not null then d.top_up_amount
                     when d.top_up_target is not null then greatest(d.top_up_target - v, 0) end,
                p_at)
        returning * into a;
        insert into webhook_delivery (id, endpoint_id, topic, event_id, payload, next_attempt_at, created_at)
        select gen_random_uuid(), e.id, case when a.top_up_amount is null then 'alert.triggered' else 'wallet.top_up_requested' end,
               a.id, jsonb_build_object('alert', alert_json(a)), p_at, p_at
          from webhook_endpoint e
         where e.enabled
           and (case when a.top_up_amount is null then 'alert.triggered' else 'wallet.top_up_requested' end) = any (e.topics);
        return next a;
      end loop;
    end if;
    if new_level is distinct from old_level or st.period_start is distinct from per then
      update alert_state set level = new_level, period_start = per, value = trim_scale(round(v, 9)), updated_at = p_at where definition_id = d.id;
    end if;
  end loop;
end
$fn$;

drop function usage_commit(jsonb, uuid, timestamptz);

create function usage_commit(p_events jsonb, p_batch uuid, p_at timestamptz)
returns table (event_id uuid, inserted boolean, balance_after bigint, version bigint, notice jsonb)
language plpgsql
-- Every row it reads is found by key. Statistics of a young, fast-growing usage_event table
-- lag behind (until autovacuum analyzes it) and would have the planner scan the whole table.
set enable_seqscan = off
as $fn$
declare
  ev usage_event[];
  dups uuid[];
  priced usage_event[];
  versions jsonb;
  n_fresh int;
  n_inserted int;
  n_settles int;
  n_settled int;
  wallets jsonb := '{}';
  alerts jsonb := '{}';
  notices jsonb := '{}';
begin
  select array_agg(jsonb_populate_record(null::usage_event, x.doc) order by x.ord) into ev
    from jsonb_array_elements(p_events) with ordinality as x(doc, ord);

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
    left join lateral (select true as taken from usage_event u
                        where u.customer_id = d.customer_id and u.idempotency_key = d.idempotency_key limit 1) k on true
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
            e.available_after, e.reservation_id, e.created_at)::usage_event as p,
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

    insert into usage_event select * from unnest(priced) on conflict (customer_id, idempotency_key) do nothing;
    get diagnostics n_inserted = row_count;
    if n_inserted <> n_fresh then
      raise exception 'a concurrent commit took an idempotency key' using errcode = 'serialization_failure';
    end if;

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
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop function usage_commit(jsonb, uuid, timestamptz);
drop function alert_evaluate(uuid[], timestamptz);
drop function alert_json(alert);
drop function alert_level(varchar, numeric, numeric, numeric);
drop table webhook_attempt, webhook_delivery, webhook_endpoint, alert, alert_state, alert_definition, usage_period_total;
`);
    this.addSql(USAGE_COMMIT_V1);
  }
}
