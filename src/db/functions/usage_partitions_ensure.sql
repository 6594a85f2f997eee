-- usage_partitions_ensure: creates the monthly partitions of usage_event that the months
-- overlapping [p_from, p_to) lack, and returns their names. Months are UTC calendar months, a
-- partition holds the events whose occurred_at falls in it and is named usage_event_yyyy_mm.
-- The service calls it at start and daily (from the oldest timestamp it accepts to
-- USAGE_PARTITIONS_AHEAD_MONTHS ahead), `billing partitions ensure` on demand.
--
-- A new partition is created apart and attached, which takes only a SHARE UPDATE EXCLUSIVE lock
-- on usage_event: commits and reads go on meanwhile. When the default partition already holds
-- events of the month (accepted before the month had a partition), they move: the default is
-- detached (an ACCESS EXCLUSIVE lock on usage_event, for as long as the move takes), the month's
-- rows are copied into the new partition and deleted from the detached default (detached, it
-- has no append-only trigger: the rows are moved, not changed), and the default is attached
-- again. The copy goes straight into the partition, so the statement triggers of usage_event do
-- not count those events a second time.
--
-- One caller at a time (a transaction-scoped advisory lock): instances starting together do not
-- race. A lock it cannot get within lock_timeout fails the call, which the next run retries,
-- rather than queueing every commit behind it.
create or replace function usage_partitions_ensure(p_from timestamptz, p_to timestamptz)
returns setof text
language plpgsql
set lock_timeout = '2s'
as $fn$
declare
  m timestamp;       -- the month's first instant, as UTC wall time
  lo timestamptz;
  hi timestamptz;
  bounds text;
  part text;
begin
  if p_to > p_from + interval '100 years' then
    raise exception 'usage_partitions_ensure: % to % spans more than 100 years', p_from, p_to using errcode = 'invalid_parameter_value';
  end if;
  perform pg_advisory_xact_lock(7231004118);
  m := date_trunc('month', p_from at time zone 'UTC');
  while m at time zone 'UTC' < p_to loop
    lo := m at time zone 'UTC';
    hi := (m + interval '1 month') at time zone 'UTC';
    part := 'usage_event_' || to_char(m, 'YYYY_MM');
    if not exists (select 1 from usage_partitions() p where p.partition_name = part) then
      bounds := format('for values from (%L) to (%L)', to_char(m, 'YYYY-MM-DD HH24:MI:SS') || '+00', to_char(m + interval '1 month', 'YYYY-MM-DD HH24:MI:SS') || '+00');
      execute format('create table %I (like usage_event including defaults including constraints)', part);
      if exists (select 1 from usage_event_default d where d.occurred_at >= lo and d.occurred_at < hi) then
        alter table usage_event detach partition usage_event_default;
        execute format('insert into %I select * from usage_event_default d where d.occurred_at >= $1 and d.occurred_at < $2', part) using lo, hi;
        delete from usage_event_default d where d.occurred_at >= lo and d.occurred_at < hi;
        execute format('alter table usage_event attach partition %I %s', part, bounds);
        alter table usage_event attach partition usage_event_default default;
      else
        execute format('alter table usage_event attach partition %I %s', part, bounds);
      end if;
      return next part;
    end if;
    m := m + interval '1 month';
  end loop;
end
$fn$;
