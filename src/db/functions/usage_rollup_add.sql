-- usage_rollup_add: keeps usage_rollup, committed usage pre-aggregated per customer, 15-minute
-- bin, meter, currency and dimension set (see Migration20261122000700UsageRollups), in the
-- transaction that inserts the events: one upsert per statement, in key order, so concurrent
-- commits take the rows' locks in one order. Events are immutable, so inserts are the only change.
create or replace function usage_rollup_add() returns trigger language plpgsql as $fn$
begin
  insert into usage_rollup as r (customer_id, bin_start, meter_code, currency, dimensions_key, dimensions, events, quantity, max_quantity, amount, charged,
                                 latest_at, latest_event_id, latest_quantity)
  select n.customer_id, date_bin('15 minutes', n.occurred_at, timestamptz '2000-01-01 00:00:00+00'), n.meter_code, n.currency, sha256(convert_to(n.dimensions::text, 'UTF8')), n.dimensions,
         count(*), sum(n.quantity), max(n.quantity), sum(n.amount), sum(n.charged), max(n.occurred_at),
         (array_agg(n.id order by n.occurred_at desc, n.id desc))[1],
         (array_agg(n.quantity order by n.occurred_at desc, n.id desc))[1]
    from new_events n
   group by n.customer_id, date_bin('15 minutes', n.occurred_at, timestamptz '2000-01-01 00:00:00+00'), n.meter_code, n.currency, n.dimensions
   order by 1, 2, 3, 4, 5
  on conflict (customer_id, bin_start, meter_code, currency, dimensions_key) do update
     set events = r.events + excluded.events, quantity = r.quantity + excluded.quantity,
         max_quantity = greatest(r.max_quantity, excluded.max_quantity),
         amount = r.amount + excluded.amount, charged = r.charged + excluded.charged,
         latest_at = case when (excluded.latest_at, excluded.latest_event_id) > (r.latest_at, r.latest_event_id) then excluded.latest_at else r.latest_at end,
         latest_event_id = case when (excluded.latest_at, excluded.latest_event_id) > (r.latest_at, r.latest_event_id) then excluded.latest_event_id else r.latest_event_id end,
         latest_quantity = case when (excluded.latest_at, excluded.latest_event_id) > (r.latest_at, r.latest_event_id) then excluded.latest_quantity else r.latest_quantity end;
  return null;
end
$fn$;
