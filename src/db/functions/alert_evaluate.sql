-- alert_evaluate(customers, at): compares every enabled alert definition of the customers with
-- the current values and records the crossings (alert, webhook_delivery). Callers run it in the
-- transaction that changed the values; it locks each definition's state row, so concurrent
-- transactions that cross the same threshold record one alert between them, and a crossing
-- survives any restart with its commit. Every read is by key.
create or replace function alert_evaluate(p_customers uuid[], p_at timestamptz)
returns setof alert
language plpgsql as $fn$
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
