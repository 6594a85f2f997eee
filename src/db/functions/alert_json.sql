-- An alert as the live updates and webhooks carry it: numbers as decimal strings.
create or replace function alert_json(a alert) returns jsonb language sql immutable as $$
  select jsonb_build_object(
    'id', a.id, 'definitionId', a.definition_id, 'customerId', a.customer_id, 'walletId', a.wallet_id,
    'name', a.name, 'metric', a.metric, 'meterCode', a.meter_code, 'direction', a.direction, 'level', a.level,
    'threshold', trim_scale(a.threshold)::text, 'value', trim_scale(a.value)::text, 'periodStart', a.period_start,
    'topUpAmount', trim_scale(a.top_up_amount)::text, 'createdAt', a.created_at)
$$;
