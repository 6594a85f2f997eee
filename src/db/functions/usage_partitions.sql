-- usage_partitions: the partitions of usage_event with the range of occurred_at each holds,
-- [range_start, range_end); the default partition (events of months that have no partition of
-- their own) has no range. In range order, the default last.
create or replace function usage_partitions()
returns table (partition_name text, range_start timestamptz, range_end timestamptz)
language sql stable as $fn$
  select c.relname::text, b[1]::timestamptz, b[2]::timestamptz
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    left join lateral regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') b on true
   where i.inhparent = 'usage_event'::regclass
   order by 2 nulls last, 1
$fn$;
