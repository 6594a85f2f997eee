import { Migration } from '@mikro-orm/migrations';

/**
 * usage_commit: makes a group of reserved usage events durable in one statement (one round
 * trip), in the lock order every writer uses: customer_account rows, then wallets.
 *
 *   1. raises the version of every customer in the group, in id order;
 *   2. sets aside events whose (customer, idempotency key) is already committed, or repeated
 *      earlier in the group: they are duplicates and are not charged again;
 *   3. locks the wallets and gives each event the balance right after it;
 *   4. posts one USAGE ledger entry per wallet and credit block (the trigger checks floors);
 *   5. inserts the events; a key taken meanwhile by a concurrent commit raises a serialization
 *      failure, so the caller retries the whole transaction;
 *   6. marks the reservations the events settle (all must still be open and unexpired);
 *   7. writes one outbox row per customer: its new version, how many events, what they charged
 *      and each wallet's balance after them.
 *
 * Returns one row per input event: whether it was inserted, its balance after, and its
 * customer's version after this commit.
 *
 * Migration20261122000500Alerts replaces it (and restores this one on the way down).
 */
export const USAGE_COMMIT_V1 = `
create function usage_commit(p_events jsonb, p_batch uuid, p_at timestamptz)
returns table (event_id uuid, inserted boolean, balance_after bigint, version bigint)
language plpgsql as $fn$
declare
  ev usage_event[];
  dups uuid[];
  priced usage_event[];
  versions jsonb;
  n_fresh int;
  n_inserted int;
  n_settles int;
  n_settled int;
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
    insert into ledger_entry (wallet_id, credit_block_id, kind, amount, usage_batch_id, created_at)
    select e.wallet_id, (a->>0)::uuid, 'USAGE', -sum((a->>1)::bigint), p_batch, p_at
      from unnest(priced) e cross join lateral jsonb_array_elements(e.allocations) a
     where e.wallet_id is not null
     group by e.wallet_id, (a->>0)::uuid
    having sum((a->>1)::bigint) <> 0;

    insert into usage_event select * from unnest(priced) on conflict (customer_id, idempotency_key) do nothing;
    get diagnostics n_inserted = row_count;
    if n_inserted <> n_fresh then
      raise exception 'a concurrent commit took an idempotency key' using errcode = 'serialization_failure';
    end if;

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

    insert into outbox (topic, customer_id, payload, created_at)
    select 'usage.committed', c.customer_id,
           jsonb_build_object('version', (versions->>c.customer_id::text)::bigint::text, 'events', c.events,
                              'charged', c.charged::text, 'wallets', c.wallets),
           p_at
      from (select e.customer_id, count(*) as events, sum(e.charged) as charged,
                   coalesce(jsonb_object_agg(e.wallet_id, e.balance_after::text) filter (where e.last_of_wallet), '{}') as wallets
              from (select p.customer_id, p.charged, p.wallet_id, p.balance_after,
                           p.wallet_id is not null and row_number() over (partition by p.wallet_id order by p.ordinality desc) = 1 as last_of_wallet
                      from unnest(priced) with ordinality as p) e
             group by e.customer_id) c;
  end if;

  return query
    select e.id, not (e.id = any (dups)), p.balance_after, (versions->>e.customer_id::text)::bigint
      from unnest(ev) with ordinality as e
      left join unnest(priced) p on p.id = e.id
     order by e.ordinality;
end
$fn$;
`;

export class Migration20261122000400UsageCommit extends Migration {
  override async up(): Promise<void> {
    this.addSql(USAGE_COMMIT_V1);
  }

  override async down(): Promise<void> {
    this.addSql('drop function usage_commit(jsonb, uuid, timestamptz);');
  }
}
