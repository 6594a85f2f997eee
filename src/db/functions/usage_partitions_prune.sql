-- usage_partitions_prune: retention of raw usage events. Drops (DETACH PARTITION, then DROP
-- TABLE: no row is deleted, so the append-only trigger does not apply) every monthly partition
-- of usage_event that
--   - ends at or before p_before (the service passes the start of the month USAGE_RETENTION_MONTHS
--     back, or the oldest timestamp it still accepts if that is earlier: no event can arrive
--     for a dropped month), and
--   - holds only events whose billing period is invoiced and final for its customer: a PERIOD
--     invoice of that period has been issued and stands (any status but DRAFT and VOID:
--     FINALIZED, PAID, or written off), and no DRAFT invoice still bills late usage of it (its
--     usage_seen names the period).
-- Returns one row per partition: its range, its events (counted for the partitions old enough
-- to be looked at), the action (DROPPED, WOULD_DROP when p_dry_run, KEPT) and why.
--
-- What stays: usage_event_key (every idempotency key, so an old key is still refused), the
-- period totals (usage_period_total, _line, _paid, _latest), usage_rollup, postpaid_spend,
-- invoices and the ledger: everything invoices, usage reports and alerts read.
--
-- Every partition is checked before any is detached, so the ACCESS EXCLUSIVE lock that DETACH
-- takes on usage_event lasts only for the detaching and dropping; a lock it cannot get within
-- lock_timeout fails the call, and the next run tries again. One caller at a time, with
-- usage_partitions_ensure (the same advisory lock).
create or replace function usage_partitions_prune(p_before timestamptz, p_dry_run boolean)
returns table (partition_name text, range_start timestamptz, range_end timestamptz, events bigint, action text, reason text)
language plpgsql
set lock_timeout = '2s'
as $fn$
declare
  p record;
  blocker record;
  n bigint;
  doomed text[] := '{}';
  out_rows jsonb := '[]';
begin
  perform pg_advisory_xact_lock(7231004118);
  for p in select * from usage_partitions() loop
    if p.range_start is null then
      out_rows := out_rows || jsonb_build_object('p', p.partition_name, 'action', 'KEPT',
        'reason', 'the default partition holds events of months without a partition of their own; it is never dropped');
      continue;
    end if;
    if p.range_end > p_before then
      out_rows := out_rows || jsonb_build_object('p', p.partition_name, 's', p.range_start, 'e', p.range_end, 'action', 'KEPT',
        'reason', format('within the retention period (it ends after %s)', to_char(p_before at time zone 'UTC', 'YYYY-MM-DD HH24:MI"Z"')));
      continue;
    end if;
    -- The partition's customers and periods (from its (customer_id, period_start) index), and
    -- the first one not yet invoiced and final.
    execute format($q$
      with pairs as (select e.customer_id, e.period_start, count(*) as n from %I e group by 1, 2),
      open as (
        select x.customer_id, x.period_start,
               not exists (select 1 from invoice i
                            where i.customer_id = x.customer_id and i.kind = 'PERIOD' and i.period_start = x.period_start
                              and i.status not in ('DRAFT', 'VOID')) as uninvoiced
          from pairs x
         where not exists (select 1 from invoice i
                            where i.customer_id = x.customer_id and i.kind = 'PERIOD' and i.period_start = x.period_start
                              and i.status not in ('DRAFT', 'VOID'))
            or exists (select 1 from invoice d
                        where d.customer_id = x.customer_id and d.status = 'DRAFT'
                          and d.usage_seen ? to_char(x.period_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         order by x.customer_id, x.period_start
         limit 1)
      select (select coalesce(sum(n), 0) from pairs) as n, o.customer_id, o.period_start, o.uninvoiced
        from (select 1) one left join open o on true$q$, p.partition_name) into blocker;
    n := blocker.n;
    if blocker.customer_id is not null then
      out_rows := out_rows || jsonb_build_object('p', p.partition_name, 's', p.range_start, 'e', p.range_end, 'n', n, 'action', 'KEPT',
        'reason', format('customer %s: %s %s', blocker.customer_id,
                         case when blocker.uninvoiced then 'no final invoice (issued, not void) for the billing period from'
                              else 'a draft invoice still bills late usage of the billing period from' end,
                         to_char(blocker.period_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI"Z"')));
      continue;
    end if;
    doomed := doomed || p.partition_name;
    out_rows := out_rows || jsonb_build_object('p', p.partition_name, 's', p.range_start, 'e', p.range_end, 'n', n,
      'action', case when p_dry_run then 'WOULD_DROP' else 'DROPPED' end,
      'reason', case when n = 0 then 'older than the retention period, and empty'
                     else 'older than the retention period, and every billing period of its events is invoiced and final' end);
  end loop;

  if not p_dry_run then
    for i in 1 .. cardinality(doomed) loop
      execute format('alter table usage_event detach partition %I', doomed[i]);
      execute format('drop table %I', doomed[i]);
    end loop;
  end if;

  return query
    select r->>'p', (r->>'s')::timestamptz, (r->>'e')::timestamptz, (r->>'n')::bigint, r->>'action', r->>'reason'
      from jsonb_array_elements(out_rows) r;
end
$fn$;
