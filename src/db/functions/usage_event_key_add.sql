-- usage_event_key_add: records the idempotency key of every inserted usage event in
-- usage_event_key (see Migration20261201000800UsageEventPartitions), in the statement that
-- inserts them. usage_event is partitioned by month of occurred_at, and a unique constraint of a
-- partitioned table must include its partition key, so (customer, idempotency key) cannot be one
-- constraint there: this narrow table, not partitioned and never pruned, holds it for every event
-- ever committed. Keys are inserted in key order, so concurrent commits take the index locks in
-- one order.
--
-- usage_commit sets aside the keys already taken before it inserts (and commits of one customer
-- take turns on its customer_account row), so a conflict here is the backstop: a serialization
-- failure, and the caller retries the whole transaction (the retry finds the key and answers it
-- as a duplicate). Any other insert into usage_event with a taken key is refused the same way.
create or replace function usage_event_key_add() returns trigger language plpgsql as $fn$
declare
  n_keys bigint;
begin
  insert into usage_event_key (customer_id, idempotency_key, event_id, occurred_at)
  select n.customer_id, n.idempotency_key, n.id, n.occurred_at from new_events n order by 1, 2
  on conflict (customer_id, idempotency_key) do nothing;
  get diagnostics n_keys = row_count;
  if n_keys <> (select count(*) from new_events) then
    raise exception 'a concurrent commit took an idempotency key' using errcode = 'serialization_failure', constraint = 'usage_event_key_pkey';
  end if;
  return null;
end
$fn$;
