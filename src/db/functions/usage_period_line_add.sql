-- usage_period_line_add: what a billing period's events add up to, kept in the transaction that
-- inserts them, so that invoices (upcomingInvoice, period close) read a few rows per customer
-- and period instead of every event (period-usage.repository.ts reads them).
--
-- A statement-level AFTER INSERT trigger on usage_event (transition table new_events). Events
-- are immutable (usage_event refuses update and delete), so inserts are the only change. Per
-- statement it adds:
--   usage_period_line   every priced line of the events, one row per tier part (a line without
--                       tier parts: one row, tier null), summed per customer, period, currency,
--                       meter, rule-set key/version/hash, dimension set, line c, p, ck, adj,
--                       tier and unit price. A line's own figures (n lines, q, a, b = a before
--                       adjustments, cd counter delta) count on its first tier part only; tq, tf,
--                       ta sum every part. A UNIQUE_COUNT meter's property (the dimension whose
--                       distinct values it counts, often one value per user) is left out of the
--                       dimension set and named in `folded`, so the rows do not grow with the
--                       distinct values; an invoice that presents that dimension reads the
--                       meter's events instead.
--   usage_period_paid   every wallet allocation [block id, ledger units], summed per credit block.
--   usage_period_latest for LATEST meters, per meter, rule-set key, line c and counter ck: the
--                       last event by (occurred_at, id) with its version, quantity and
--                       adjustments. A meter's aggregation is fixed when it is created (meters
--                       have no update), so the meters invoices ask the last values of are the
--                       meters that were LATEST when their events came in.
-- Keys that may hold nulls (ck, tier, unit price) are hashed into line_key / latest_key
-- (SHA-256 of the JSON array of the key's parts, an injective text).
--
-- Each table is upserted in primary-key order, and the three tables always in this order, so
-- concurrent commits that touch the same rows lock them in the same order and do not deadlock.
-- Sums are numeric (exact); no foreign keys (every row comes from events whose customer
-- usage_event already checks).
--
-- Planner settings: it cannot see how many lines and tier parts a jsonb array holds (it assumes
-- 100 of each), so it costs a 1,000-event statement at millions of rows. It would then spend half
-- a second JIT-compiling what runs in milliseconds (jit off), sort the parts to group them where
-- hashing the few groups of a commit is cheaper (sorts off), and cache tier-part lookups that
-- never repeat (memoize off).
create or replace function usage_period_line_add() returns trigger
language plpgsql
set jit = off set enable_sort = off set enable_incremental_sort = off set enable_memoize = off
as $fn$
declare
  -- Meters are a few rows: what the statements need of them is read once, not joined per event.
  folding jsonb;      -- UNIQUE_COUNT meter id -> its property
  latest_meters uuid[];
begin
  select coalesce(jsonb_object_agg(m.id, m.property) filter (where m.aggregation = 'UNIQUE_COUNT'), '{}'::jsonb),
         coalesce(array_agg(m.id) filter (where m.aggregation = 'LATEST'), '{}'::uuid[])
    into folding, latest_meters
    from meter m;

  insert into usage_period_line as s (customer_id, period_start, currency, line_key, meter_code, rule_set_key, rule_set_version, rule_set_hash,
                                      folded, dimensions, c, p, ck, adj, tier, unit_price, n, q, a, b, cd, tq, tf, ta)
  select g.customer_id, g.period_start, g.currency,
         sha256(convert_to(jsonb_build_array(g.meter_code, g.rule_set_key, g.rule_set_version, g.rule_set_hash, g.folded, g.dimensions,
                                             g.c, g.p, g.ck, g.adj, g.tier, g.unit_price)::text, 'UTF8')) as line_key,
         g.meter_code, g.rule_set_key, g.rule_set_version, g.rule_set_hash, g.folded, g.dimensions, g.c, g.p, g.ck, g.adj, g.tier, g.unit_price,
         g.n, g.q, g.a, g.b, g.cd, g.tq, g.tf, g.ta
    from (select e.customer_id, e.period_start, e.currency, e.meter_code, e.rule_set_key, e.rule_set_version, e.rule_set_hash,
                 e.folded, e.dimensions, l->>'c' as c, coalesce(l ? 'p', false) as p, l->>'ck' as ck, coalesce(l->'adj', '[]'::jsonb) as adj,
                 (tp->>0)::int as tier, tp->>2 as unit_price,
                 count(*) filter (where coalesce(t.ord, 1) = 1) as n,
                 coalesce(sum((l->>'q')::numeric) filter (where coalesce(t.ord, 1) = 1), 0) as q,
                 coalesce(sum((l->>'a')::numeric) filter (where coalesce(t.ord, 1) = 1), 0) as a,
                 coalesce(sum(coalesce(l->>'b', l->>'a')::numeric) filter (where coalesce(t.ord, 1) = 1), 0) as b,
                 coalesce(sum((l->>'cd')::numeric) filter (where coalesce(t.ord, 1) = 1), 0) as cd,
                 sum((tp->>1)::numeric) as tq, sum((tp->>3)::numeric) as tf, sum((tp->>4)::numeric) as ta
            from (select n.customer_id, n.period_start, n.currency, n.meter_code, n.rule_set_key, n.rule_set_version, n.rule_set_hash, n.lines,
                         folding->>n.meter_id::text as folded,
                         case when folding ? n.meter_id::text then n.dimensions - (folding->>n.meter_id::text) else n.dimensions end as dimensions
                    from new_events n) e
           cross join lateral jsonb_array_elements(e.lines) l
            left join lateral jsonb_array_elements(l->'t') with ordinality t(tp, ord) on true
           group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) g
   order by 1, 2, 3, 4
  on conflict (customer_id, period_start, currency, line_key) do update
     set n = s.n + excluded.n, q = s.q + excluded.q, a = s.a + excluded.a, b = s.b + excluded.b, cd = s.cd + excluded.cd,
         tq = s.tq + excluded.tq, tf = s.tf + excluded.tf, ta = s.ta + excluded.ta;

  insert into usage_period_paid as s (customer_id, period_start, currency, block_id, units)
  select n.customer_id, n.period_start, n.currency, (x->>0)::uuid, sum((x->>1)::numeric)
    from new_events n cross join lateral jsonb_array_elements(n.allocations) x
   where n.allocations <> '[]'::jsonb
   group by 1, 2, 3, 4
   order by 1, 2, 3, 4
  on conflict (customer_id, period_start, currency, block_id) do update set units = s.units + excluded.units;

  if cardinality(latest_meters) > 0 then
    insert into usage_period_latest as s (customer_id, period_start, currency, latest_key, meter_code, rule_set_key, c, ck,
                                          latest_at, latest_event_id, rule_set_version, quantity, adj)
    select k.customer_id, k.period_start, k.currency, sha256(convert_to(jsonb_build_array(k.meter_code, k.rule_set_key, k.c, k.ck)::text, 'UTF8')),
           k.meter_code, k.rule_set_key, k.c, k.ck, k.occurred_at, k.id, k.rule_set_version, k.quantity, k.adj
      from (select distinct on (n.customer_id, n.period_start, n.currency, n.meter_code, n.rule_set_key, l->>'c', l->>'ck')
                   n.customer_id, n.period_start, n.currency, n.meter_code, n.rule_set_key, l->>'c' as c, l->>'ck' as ck,
                   n.occurred_at, n.id, n.rule_set_version, n.quantity, coalesce(l->'adj', '[]'::jsonb) as adj
              from new_events n cross join lateral jsonb_array_elements(n.lines) l
             where n.meter_id = any(latest_meters) and l ? 'ck'
             order by n.customer_id, n.period_start, n.currency, n.meter_code, n.rule_set_key, l->>'c', l->>'ck', n.occurred_at desc, n.id desc) k
     order by 1, 2, 3, 4
    on conflict (customer_id, period_start, currency, latest_key) do update
       set latest_at = excluded.latest_at, latest_event_id = excluded.latest_event_id, rule_set_version = excluded.rule_set_version,
           quantity = excluded.quantity, adj = excluded.adj
     where (excluded.latest_at, excluded.latest_event_id) > (s.latest_at, s.latest_event_id);
  end if;
  return null;
end
$fn$;
