import type { SqlClient, SqlPool } from '../../db/sql.js';
import { Decimal } from '../../shared/money/decimal.js';
import type { AccountSnapshot, BlockMeta, HoldRecord, PeriodSnapshot, WalletState } from './reservation.store.js';

const UNITS = new Decimal(1e9);
/** A decimal sum from SQL as 1e-9 units. */
const units = (text: string): bigint => BigInt(new Decimal(text).times(UNITS).toFixed(0));

interface WalletRow {
  id: string;
  currency: string;
  limit_mode: WalletState['mode'];
  overdraft_limit: string;
}
interface BlockRow {
  id: string;
  wallet_id: string;
  kind: 'MAIN' | 'GRANT';
  expires_at: Date | null;
  remaining: string;
}

/**
 * PostgreSQL's side of the reservation protocol: customer account versions, and the snapshots
 * the store is loaded from.
 */
export class AccountRepository {
  constructor(private readonly sql: SqlPool) {}

  /**
   * Inside a transaction: raises each customer's version by one, locking their rows in id order
   * (before any wallet, which keeps lock order the same everywhere). Returns the new versions.
   */
  static async bump(client: SqlClient, customerIds: Iterable<string>): Promise<Map<string, bigint>> {
    const ids = [...new Set(customerIds)].sort();
    if (ids.length === 0) return new Map();
    const rows = await client.query<{ customer_id: string; version: string }>(
      `insert into customer_account (customer_id, version) select id, 1 from unnest($1::uuid[]) as t(id)
       on conflict (customer_id) do update set version = customer_account.version + 1
       returning customer_id, version`,
      [ids],
    );
    return new Map(rows.rows.map((r) => [r.customer_id, BigInt(r.version)]));
  }

  /** Wallets and blocks of a customer (or of the given wallets), as the store keeps them. */
  static async walletStates(client: SqlClient, where: { customerId: string } | { walletIds: string[] }, now: Date) {
    const wallets = await client.query<WalletRow & { customer_id: string }>(
      `select id, customer_id, currency, limit_mode, overdraft_limit from wallet where ${'customerId' in where ? 'customer_id = $1' : 'id = any($1::uuid[])'}`,
      ['customerId' in where ? where.customerId : where.walletIds],
    );
    const blocks = await client.query<BlockRow>(
      `select id, wallet_id, kind, expires_at, remaining from credit_block where wallet_id = any($1::uuid[])
       order by wallet_id, kind, priority, expires_at nulls last, id`,
      [wallets.rows.map((w) => w.id)],
    );
    // Consumption order: grants by priority, soonest expiry, age; MAIN last. Grants that are
    // spent or expired never give money again, so they are left out.
    const live = (b: BlockRow) => b.kind === 'MAIN' || (BigInt(b.remaining) > 0n && (!b.expires_at || b.expires_at > now));
    const states: Array<WalletState & { customerId: string }> = wallets.rows.map((w) => ({
      id: w.id,
      customerId: w.customer_id,
      currency: w.currency,
      mode: w.limit_mode,
      overdraft: BigInt(w.overdraft_limit),
      order: blocks.rows.filter((b) => b.wallet_id === w.id && live(b)).map((b) => b.id),
    }));
    const metas: Array<BlockMeta & { remaining: bigint }> = blocks.rows.map((b) => ({
      id: b.id,
      kind: b.kind === 'MAIN' ? 'M' : 'G',
      expiresAt: b.expires_at ? b.expires_at.getTime() : null,
      remaining: BigInt(b.remaining),
    }));
    return { wallets: states, blocks: metas };
  }

  /** Wallets and blocks of the given wallets, as the store keeps them, from one snapshot. */
  walletStatesOf(walletIds: string[], now: Date) {
    return this.sql.transaction((client) => AccountRepository.walletStates(client, { walletIds }, now), { snapshot: true });
  }

  /** What open reservations hold, per wallet (reservations without a wallet left out). */
  async openHoldsByWallet(customerId: string): Promise<Map<string, bigint>> {
    const rows = await this.sql.query<{ wallet_id: string; total: string }>(
      `select wallet_id, sum(amount)::text as total from reservation where customer_id = $1 and status = 'OPEN' and wallet_id is not null group by 1`,
      [customerId],
    );
    return new Map(rows.map((r) => [r.wallet_id, BigInt(r.total)]));
  }

  /** A consistent snapshot of what the store keeps for a customer, with its version. */
  async snapshot(customerId: string, now: Date): Promise<Omit<AccountSnapshot, 'generation' | 'token'>> {
    return this.sql.transaction(
      async (client) => {
        const version = await versionOf(client, customerId);
        const { wallets, blocks } = await AccountRepository.walletStates(client, { customerId }, now);
        const cap = await client.query<{ currency: string; spending_cap: string | null }>('select currency, spending_cap from customer where id = $1', [customerId]);
        const caps: Record<string, bigint> = {};
        if (cap.rows[0]?.spending_cap) caps[cap.rows[0].currency] = BigInt(cap.rows[0].spending_cap);
        const holds = await client.query<{ id: string; hold: HoldRecord }>(`select id, hold from reservation where customer_id = $1 and status = 'OPEN'`, [customerId]);
        return {
          version,
          wallets,
          blocks,
          caps,
          holds: holds.rows.map((h) => ({ id: h.id, record: h.hold, held: h.hold.a.map(([blockId, amount]) => ({ blockId, amount: BigInt(amount) })) })),
        };
      },
      { snapshot: true },
    );
  }

  /** The counters of one billing period, summed from the committed events, with the version. */
  async periodSnapshot(customerId: string, periodStart: Date, expireAt: number): Promise<Omit<PeriodSnapshot, 'token'>> {
    return this.sql.transaction(
      async (client) => {
        const version = await versionOf(client, customerId);
        // Charge counters are the sums of what each event advanced them by; a UNIQUE_COUNT meter
        // also marks every value it has seen this period, and a rule set with a maximum spend
        // counts what its events were charged (their lines marked `s`). Every read of the period's events also
        // says occurred_at >= the period start (where they all are): usage_event is partitioned
        // by month of occurred_at, and the months before the period are then not read.
        const counters = await client.query<{ key: string; total: string }>(
          `select l->>'ck' as key, sum((l->>'cd')::numeric)::text as total
             from usage_event e cross join lateral jsonb_array_elements(e.lines) l
            where e.customer_id = $1 and e.period_start = $2 and e.occurred_at >= $2 and l ? 'ck'
            group by 1
           union all
           select 'spend:' || e.rule_set_key, (sum((l->>'u')::numeric) / 1000000000)::text
             from usage_event e cross join lateral jsonb_array_elements(e.lines) l
            where e.customer_id = $1 and e.period_start = $2 and e.occurred_at >= $2 and l ? 's'
            group by 1
           union all
           select 'seen:' || e.meter_code || '|' || (e.dimensions ->> m.property), '1'
             from usage_event e join meter m on m.id = e.meter_id
            where e.customer_id = $1 and e.period_start = $2 and e.occurred_at >= $2 and m.aggregation = 'UNIQUE_COUNT' and e.dimensions ? m.property
            group by 1`,
          [customerId, periodStart],
        );
        // A meter's period quantity as the store advances it: MAX and LATEST hold the highest
        // value so far (LATEST is trued up to the last value on the invoice), UNIQUE_COUNT the
        // number of distinct values, RECURRING the level the period's last event set, SUM and
        // COUNT the total.
        const meters = await client.query<{ meter_code: string; total: string }>(
          `select e.meter_code,
                  (case m.aggregation when 'MAX' then max(e.quantity) when 'LATEST' then max(e.quantity)
                                      when 'UNIQUE_COUNT' then count(distinct e.dimensions ->> m.property)
                                      when 'RECURRING' then (array_agg(e.quantity order by e.occurred_at desc, e.id desc))[1]
                                      else sum(e.quantity) end)::text as total
             from usage_event e join meter m on m.id = e.meter_id
            where e.customer_id = $1 and e.period_start = $2 and e.occurred_at >= $2
            group by e.meter_code, m.aggregation`,
          [customerId, periodStart],
        );
        // RECURRING meters: the level carried into the period (the last set before it, from
        // meter_level, which retention keeps) is where the period starts, for the meter and for
        // every counter its setting event moved; the period's events moved them on from there.
        const carried = await client.query<{ meter_code: string; level: string; counters: string[] }>(
          `select m.code as meter_code, k.level::text as level, k.counters
             from meter m
             cross join lateral (select l.level, l.counters from meter_level l
                                  where l.customer_id = $1 and l.meter_id = m.id and l.set_at < $2
                                  order by l.set_at desc, l.event_id desc limit 1) k
            where m.aggregation = 'RECURRING'`,
          [customerId, periodStart],
        );
        const spend = await client.query<{ currency: string; total: string }>(
          `select currency, sum(total)::text as total from (
             select currency, sum(charged) as total from usage_event where customer_id = $1 and period_start = $2 and occurred_at >= $2 and wallet_id is null group by 1
             union all
             select currency, sum(amount) from reservation where customer_id = $1 and period_start = $2 and wallet_id is null and status = 'OPEN' group by 1
           ) s group by 1`,
          [customerId, periodStart],
        );
        const counterUnits = new Map(counters.rows.map((r) => [r.key, units(r.total)]));
        const meterQuantities = new Map(meters.rows.map((r) => [r.meter_code, units(r.total)]));
        for (const c of carried.rows) {
          const level = units(c.level);
          for (const key of c.counters) counterUnits.set(key, (counterUnits.get(key) ?? 0n) + level);
          if (!meterQuantities.has(c.meter_code)) meterQuantities.set(c.meter_code, level);
        }
        return {
          periodKey: periodStart.toISOString(),
          version,
          expireAt,
          counters: counterUnits,
          meterQuantities,
          spend: new Map(spend.rows.map((r) => [r.currency, BigInt(r.total)])),
        };
      },
      { snapshot: true },
    );
  }

  /** A wallet's available balance by PostgreSQL: its unexpired blocks less its open reservations. */
  async availableOf(walletId: string, now: Date): Promise<bigint> {
    const rows = await this.sql.query<{ available: string }>(
      `select (coalesce((select sum(remaining) from credit_block where wallet_id = $1 and (expires_at is null or expires_at > $2)), 0)
             - coalesce((select sum(amount) from reservation where wallet_id = $1 and status = 'OPEN'), 0))::text as available`,
      [walletId, now],
    );
    return BigInt(rows[0]!.available);
  }

  /** Committed postpaid spend of a period and the customer's cap, when it has one in that currency. */
  async postpaidSpend(customerId: string, periodStart: Date, currency: string): Promise<{ spent: bigint; cap: bigint } | null> {
    const rows = await this.sql.query<{ spent: string; cap: string }>(
      `select coalesce((select charged from postpaid_spend where customer_id = c.id and period_start = $2 and currency = $3), 0)::text as spent,
              c.spending_cap::text as cap
         from customer c where c.id = $1 and c.currency = $3 and c.spending_cap is not null`,
      [customerId, periodStart, currency],
    );
    return rows[0] ? { spent: BigInt(rows[0].spent), cap: BigInt(rows[0].cap) } : null;
  }

  /** A customer's current account version, or null when none was ever recorded. */
  async snapshotVersion(customerId: string): Promise<bigint | null> {
    const rows = await this.sql.query<{ version: string }>('select version from customer_account where customer_id = $1', [customerId]);
    return rows[0] ? BigInt(rows[0].version) : null;
  }

  /** Every customer that has a wallet or has recorded usage (for reconcile). */
  async customersWithState(): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>('select customer_id as id from customer_account union select customer_id from wallet order by 1');
    return rows.map((r) => r.id);
  }
}

async function versionOf(client: SqlClient, customerId: string): Promise<bigint> {
  const rows = await client.query<{ version: string }>('select version from customer_account where customer_id = $1', [customerId]);
  return BigInt(rows.rows[0]?.version ?? '0');
}
