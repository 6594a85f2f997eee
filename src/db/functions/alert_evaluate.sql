-- alert_evaluate(customers, at): compares every enabled alert definition of the customers with
-- the current values and records the crossings (alert, announced through webhook_emit). Callers run it in the
-- transaction that changed the values; it locks each definition's state row, so concurrent
-- transactions that cross the same threshold record one alert between them, and a crossing
-- survives any restart with its commit.
--
-- METER_USAGE and ALLOWANCE_USED watch the meter's period quantity as its aggregation defines
-- it (the quantity the invoice bills), over every currency of the period:
--   SUM, COUNT    the sum of the events' quantities (usage_period_total.quantity);
--   MAX           the highest event quantity (usage_period_total.max_quantity);
--   LATEST        the quantity of the period's last event by (occurred_at, id). The reservation
--                 store holds the highest value so far, a safe bound for admitting usage, but the
--                 invoice bills the last value, and that is the usage the customer sees: an alert
--                 on it fires when the last value crosses and re-arms when a later value falls back;
--   UNIQUE_COUNT  the number of distinct values of the meter's property among the events;
--   RECURRING     the level the customer holds: the latest set, by (set_at, event_id), in
--                 meter_level (one key read, the primary key's order), carried over from earlier
--                 periods; 0 before any.
-- A meter code with no meter row is watched as a sum.
--
-- Every read is by key or index, but two read events, which no total keeps (a period with no
-- total for the meter reads none):
--   UNIQUE_COUNT  reads every event of the customer's period, of every meter (index usage_event
--                 (customer_id, period_start)), each fetched from the table to see its meter and
--                 property. That costs in proportion to the customer's events in the period, per
--                 such definition and on every commit of the customer: over a period, quadratic
--                 in its events.
--   LATEST        reads the customer's events backwards in time (index usage_event (customer_id,
--                 occurred_at)) down to the meter's last one in the period, usually a few; the
--                 planner may read the period's events instead (index (customer_id,
--                 period_start)), at the cost of UNIQUE_COUNT.
-- Both also say occurred_at >= per: a period's events happen at or after its start, and
-- usage_event is partitioned by month of occurred_at, so the months before the period are not
-- read (pruned when the statement starts, its plan being generic).
--
-- A customer on a test clock (customer.test_clock_id) is evaluated at the clock's frozen time,
-- which its alerts, recharges and webhook events carry, instead of p_at.
--
-- A wallet's auto-recharge (recharge_on_failure set, setWalletAutoRecharge) is an auto top-up
-- definition like the others. When its customer's provider collects by itself (anything but
-- MANUAL), a crossing records no alert: it asks for a charge instead, a wallet_recharge row
-- IN_FLIGHT that the recharge worker charges and tops the wallet up with. The partial unique
-- index wallet_recharge_in_flight keeps one in flight per wallet: a crossing while one is (the
-- value went back up and down before it settled) asks for nothing more. With MANUAL, the
-- crossing records its alert and wallet.top_up_requested, for the integrator to collect.
create or replace function alert_evaluate(p_customers uuid[], p_at timestamptz)
returns setof alert
language plpgsql as $fn$
declare
  d record;
  st alert_state;
  v numeric;
  m_id uuid;
  m_aggregation text;
  m_property text;
  seen boolean;
  last_at timestamptz;
  per timestamptz;
  old_level int;
  new_level int;
  lvl int;
  a alert;
  d_at timestamptz;
begin
  insert into alert_state (definition_id)
  select ad.id from alert_definition ad
   where ad.customer_id = any (p_customers) and ad.deleted_at is null and ad.enabled
  on conflict do nothing;

  for d in
    select ad.*, c.spending_cap, c.currency as customer_currency, c.payment_provider, tc.frozen_time as clock_time
      from alert_definition ad join customer c on c.id = ad.customer_id
      left join test_clock tc on tc.id = c.test_clock_id
     where ad.customer_id = any (p_customers) and ad.deleted_at is null and ad.enabled
     order by ad.id
  loop
    -- One transaction at a time per definition: the second sees what the first recorded.
    select * into st from alert_state s where s.definition_id = d.id for update;
    -- A customer on a test clock lives at the clock's frozen time.
    d_at := coalesce(d.clock_time, p_at);
    per := null;
    v := null;
    if d.metric in ('WALLET_BALANCE', 'WALLET_AVAILABLE') then
      select w.balance::numeric / 1000000000 into v from wallet w where w.id = d.wallet_id;
      if d.metric = 'WALLET_AVAILABLE' then
        v := v - coalesce((select sum(r.amount) from reservation r
                            where r.customer_id = d.customer_id and r.wallet_id = d.wallet_id and r.status = 'OPEN'), 0)::numeric / 1000000000;
      end if;
    else
      select max(t.period_start) into per from usage_period_total t where t.customer_id = d.customer_id and t.period_start <= d_at;
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
        -- No meter row: nulls, and the sum. Without a total for the meter in the period its
        -- quantity is 0 whatever the aggregation, and its events are not read.
        select m.id, m.aggregation, m.property into m_id, m_aggregation, m_property from meter m where m.code = d.meter_code;
        select case when m_aggregation = 'MAX' then coalesce(max(t.max_quantity), 0) else coalesce(sum(t.quantity), 0) end,
               count(*) > 0
          into v, seen
          from usage_period_total t
         where t.customer_id = d.customer_id and t.period_start = per and t.meter_code = d.meter_code;
        if m_aggregation = 'RECURRING' then
          select l.level into v
            from meter_level l
           where l.customer_id = d.customer_id and l.meter_id = m_id
           order by l.set_at desc, l.event_id desc
           limit 1;
          v := coalesce(v, 0);
        elsif seen and m_aggregation = 'LATEST' then
          -- The time of the last event, then the last event at that time (the one with the
          -- highest id).
          select max(e.occurred_at) into last_at
            from usage_event e
           where e.customer_id = d.customer_id and e.period_start = per and e.occurred_at >= per and e.meter_id = m_id;
          select e.quantity into v
            from usage_event e
           where e.customer_id = d.customer_id and e.occurred_at = last_at and e.period_start = per and e.meter_id = m_id
           order by e.id desc
           limit 1;
          v := coalesce(v, 0);
        elsif seen and m_aggregation = 'UNIQUE_COUNT' then
          select count(distinct e.dimensions ->> m_property) into v
            from usage_event e
           where e.customer_id = d.customer_id and e.period_start = per and e.occurred_at >= per and e.meter_id = m_id;
        end if;
        if d.metric = 'ALLOWANCE_USED' then v := v * 100 / d.allowance; end if;
      end if;
    end if;
    if v is null then continue; end if;

    new_level := alert_level(d.direction, d.threshold, d.every, v);
    old_level := case when st.period_start is distinct from per then -1 else st.level end;
    if new_level > old_level and d.recharge_on_failure is not null and d.payment_provider <> 'MANUAL' then
      insert into wallet_recharge (id, wallet_id, customer_id, definition_id, status, amount, currency, available, threshold,
                                   on_failure, created_at, updated_at)
      values (gen_random_uuid(), d.wallet_id, d.customer_id, d.id, 'IN_FLIGHT',
              round(coalesce(d.top_up_amount, greatest(d.top_up_target - v, 0)) * 1000000000)::bigint,
              d.currency, trim_scale(round(v, 9)), d.threshold, d.recharge_on_failure, d_at, d_at)
      on conflict (wallet_id) where status = 'IN_FLIGHT' do nothing;
    elsif new_level > old_level then
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
                d_at)
        returning * into a;
        perform webhook_emit(case when a.top_up_amount is null then 'alert.triggered' else 'wallet.top_up_requested' end,
                             a.id, jsonb_build_object('alert', alert_json(a)), d_at);
        return next a;
      end loop;
    end if;
    if new_level is distinct from old_level or st.period_start is distinct from per then
      update alert_state set level = new_level, period_start = per, value = trim_scale(round(v, 9)), updated_at = d_at where definition_id = d.id;
    end if;
  end loop;
end
$fn$;
