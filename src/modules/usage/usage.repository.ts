import type { SqlClient, SqlPool } from '../../db/sql.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import { AccountRepository } from '../reservations/account.repository.js';
import type { Allocation } from '../reservations/reservation-store.js';
import { LedgerRepository } from '../wallets/ledger.repository.js';
import type { UsageEventRecord } from './usage-event.entity.js';

/** Events that commit together: all, or (when atomic) none. */
export interface CommitBundle {
  atomic: boolean;
  /** `settles`: the reservation an event settles, which must still be OPEN. */
  events: Array<{ event: UsageEventRecord; allocations: Allocation[]; settles: string | null }>;
}

export type CommitOutcome =
  | { kind: 'committed'; event: UsageEventRecord; version: bigint }
  | { kind: 'duplicate' }
  | { kind: 'failed'; error: AppError | unknown };

interface Row {
  id: string;
  customer_id: string;
  idempotency_key: string;
  request_hash: string;
  meter_id: string;
  meter_code: string;
  quantity: string;
  occurred_at: Date;
  dimensions: Record<string, string>;
  values: Record<string, string>;
  period_start: Date;
  currency: string;
  wallet_id: string | null;
  amount: string;
  charged: string;
  rule_set_key: string;
  rule_set_version: number;
  rule_set_hash: string;
  fired_rules: string[];
  lines: UsageEventRecord['lines'];
  soft_limit_exceeded: boolean;
  balance_after: string | null;
  available_after: string | null;
  reservation_id: string | null;
  created_at: Date;
}

const toRecord = (r: Row): UsageEventRecord => ({
  id: r.id,
  customerId: r.customer_id,
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
  meterId: r.meter_id,
  meterCode: r.meter_code,
  quantity: r.quantity.includes('.') ? r.quantity.replace(/\.?0+$/, '') : r.quantity,
  occurredAt: r.occurred_at,
  dimensions: r.dimensions,
  values: r.values,
  periodStart: r.period_start,
  currency: r.currency,
  walletId: r.wallet_id,
  amount: r.amount,
  charged: BigInt(r.charged),
  ruleSetKey: r.rule_set_key,
  ruleSetVersion: r.rule_set_version,
  ruleSetHash: r.rule_set_hash,
  firedRules: r.fired_rules,
  lines: r.lines,
  softLimitExceeded: r.soft_limit_exceeded,
  balanceAfter: r.balance_after === null ? null : BigInt(r.balance_after),
  availableAfter: r.available_after === null ? null : BigInt(r.available_after),
  reservationId: r.reservation_id,
  createdAt: r.created_at,
});

class DuplicateRace extends Error {}

/**
 * Makes usage durable: events, their ledger entries and an outbox row per customer, in one
 * transaction for a whole group of requests.
 */
export class UsageRepository {
  private readonly ledger = new LedgerRepository();

  constructor(private readonly sql: SqlPool) {}

  async findByKey(customerId: string, idempotencyKey: string): Promise<UsageEventRecord | null> {
    const rows = await this.sql.query<Row>('select * from usage_event where customer_id = $1 and idempotency_key = $2', [customerId, idempotencyKey]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findById(id: string): Promise<UsageEventRecord | null> {
    const rows = await this.sql.query<Row>('select * from usage_event where id = $1', [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * Commits bundles in one transaction. When that fails (a wallet floor the store could not see
   * after losing its state, say), each bundle is retried alone, and a non-atomic bundle event by
   * event, so one bad event does not sink its neighbours.
   */
  async commitBundles(bundles: CommitBundle[], now: Date): Promise<CommitOutcome[][]> {
    try {
      return await this.commitOnce(bundles, now);
    } catch (err) {
      if (bundles.length === 1 && (bundles[0]!.atomic || bundles[0]!.events.length === 1)) {
        return [bundles[0]!.events.map(() => ({ kind: 'failed' as const, error: err }))];
      }
      const out: CommitOutcome[][] = [];
      for (const b of bundles) {
        if (b.atomic) out.push((await this.commitBundles([b], now))[0]!);
        else out.push((await Promise.all(b.events.map((e) => this.commitBundles([{ atomic: false, events: [e] }], now)))).map((r) => r[0]![0]!));
      }
      return out;
    }
  }

  private async commitOnce(bundles: CommitBundle[], now: Date): Promise<CommitOutcome[][]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sql.transaction((client) => this.write(client, bundles, now));
      } catch (err) {
        if (!(err instanceof DuplicateRace) || attempt >= 3) throw err;
      }
    }
  }

  private async write(client: SqlClient, bundles: CommitBundle[], now: Date): Promise<CommitOutcome[][]> {
    const all = bundles.flatMap((b) => b.events);
    const versions = await AccountRepository.bump(client, all.map((e) => e.event.customerId));

    // Events already committed under their idempotency keys are duplicates, not charged again.
    const existing = await client.query<{ customer_id: string; idempotency_key: string }>(
      `select customer_id, idempotency_key from usage_event
        where (customer_id, idempotency_key) in (select * from unnest($1::uuid[], $2::varchar[]))`,
      [all.map((e) => e.event.customerId), all.map((e) => e.event.idempotencyKey)],
    );
    const taken = new Set(existing.rows.map((r) => `${r.customer_id}|${r.idempotency_key}`));
    const seen = new Set<string>();
    const fresh = all.filter((e) => {
      const k = `${e.event.customerId}|${e.event.idempotencyKey}`;
      if (taken.has(k) || seen.has(k)) return false;
      seen.add(k);
      return true;
    });

    // Lock the wallets in id order and give each event the balance right after it.
    const walletIds = [...new Set(fresh.flatMap((e) => (e.event.walletId ? [e.event.walletId] : [])))].sort();
    const balances = new Map<string, bigint>();
    if (walletIds.length) {
      const rows = await client.query<{ id: string; balance: string }>('select id, balance from wallet where id = any($1::uuid[]) order by id for no key update', [walletIds]);
      for (const r of rows.rows) balances.set(r.id, BigInt(r.balance));
    }
    for (const { event } of fresh) {
      if (!event.walletId) continue;
      const after = balances.get(event.walletId)! - event.charged;
      balances.set(event.walletId, after);
      event.balanceAfter = after;
    }

    if (fresh.length) {
      const inserted = await this.insertEvents(client, fresh.map((e) => e.event));
      if (inserted !== fresh.length) throw new DuplicateRace('a concurrent commit took an idempotency key');
      const entries = fresh.flatMap(({ event, allocations }) =>
        allocations
          .filter((a) => a.amount !== 0n)
          .map((a) => ({ walletId: event.walletId!, creditBlockId: a.blockId, kind: 'USAGE' as const, amount: -a.amount, usageEventId: event.id, createdAt: now })),
      );
      await this.ledger.append(client, entries, versions);
      await this.settleReservations(client, fresh, now);
      await this.insertOutbox(client, fresh.map((e) => e.event), versions, now);
    }
    const freshIds = new Set(fresh.map((e) => e.event.id));
    return bundles.map((b) =>
      b.events.map(({ event }) => (freshIds.has(event.id) ? { kind: 'committed', event, version: versions.get(event.customerId)! } : { kind: 'duplicate' })),
    );
  }

  /** Marks the reservations these events settle; all must still be open, or nothing commits. */
  private async settleReservations(client: SqlClient, events: CommitBundle['events'], now: Date): Promise<void> {
    const settling = events.filter((e) => e.settles);
    if (settling.length === 0) return;
    const result = await client.query(
      `update reservation r set status = 'SETTLED', settled_event_id = t.event_id, updated_at = $3
         from unnest($1::uuid[], $2::uuid[]) as t(id, event_id)
        where r.id = t.id and r.status = 'OPEN' and r.expires_at > $3`,
      [settling.map((e) => e.settles), settling.map((e) => e.event.id), now],
    );
    if (result.rowCount !== settling.length) throw new AppError(ErrorCode.RESERVATION_CLOSED, 'the reservation has expired, or was settled or released');
  }

  private async insertEvents(client: SqlClient, events: UsageEventRecord[]): Promise<number> {
    const col = <T>(f: (e: UsageEventRecord) => T) => events.map(f);
    const result = await client.query(
      `insert into usage_event (id, customer_id, idempotency_key, request_hash, meter_id, meter_code, quantity, occurred_at,
         dimensions, "values", period_start, currency, wallet_id, amount, charged, rule_set_key, rule_set_version, rule_set_hash,
         fired_rules, lines, soft_limit_exceeded, balance_after, available_after, reservation_id, created_at)
       select id, customer_id, idempotency_key, request_hash, meter_id, meter_code, quantity, occurred_at,
         dimensions, "values", period_start, currency, wallet_id, amount, charged, rule_set_key, rule_set_version, rule_set_hash,
         array(select jsonb_array_elements_text(fired_rules)), lines, soft_limit_exceeded, balance_after, available_after, reservation_id, created_at
       from unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::char(64)[], $5::uuid[], $6::varchar[], $7::numeric[], $8::timestamptz[],
         $9::jsonb[], $10::jsonb[], $11::timestamptz[], $12::varchar[], $13::uuid[], $14::numeric[], $15::bigint[], $16::varchar[], $17::int[],
         $18::char(64)[], $19::jsonb[], $20::jsonb[], $21::boolean[], $22::bigint[], $23::bigint[], $24::uuid[], $25::timestamptz[])
         as t(id, customer_id, idempotency_key, request_hash, meter_id, meter_code, quantity, occurred_at, dimensions, "values",
              period_start, currency, wallet_id, amount, charged, rule_set_key, rule_set_version, rule_set_hash, fired_rules, lines,
              soft_limit_exceeded, balance_after, available_after, reservation_id, created_at)
       on conflict (customer_id, idempotency_key) do nothing`,
      [
        col((e) => e.id),
        col((e) => e.customerId),
        col((e) => e.idempotencyKey),
        col((e) => e.requestHash),
        col((e) => e.meterId),
        col((e) => e.meterCode),
        col((e) => e.quantity),
        col((e) => e.occurredAt),
        col((e) => JSON.stringify(e.dimensions)),
        col((e) => JSON.stringify(e.values)),
        col((e) => e.periodStart),
        col((e) => e.currency),
        col((e) => e.walletId),
        col((e) => e.amount),
        col((e) => e.charged.toString()),
        col((e) => e.ruleSetKey),
        col((e) => e.ruleSetVersion),
        col((e) => e.ruleSetHash),
        col((e) => JSON.stringify(e.firedRules)),
        col((e) => JSON.stringify(e.lines)),
        col((e) => e.softLimitExceeded),
        col((e) => e.balanceAfter?.toString() ?? null),
        col((e) => e.availableAfter?.toString() ?? null),
        col((e) => e.reservationId),
        col((e) => e.createdAt),
      ],
    );
    return result.rowCount ?? 0;
  }

  /** One outbox row per customer per commit: what live updates and alerts publish after it. */
  private async insertOutbox(client: SqlClient, events: UsageEventRecord[], versions: Map<string, bigint>, now: Date): Promise<void> {
    const byCustomer = new Map<string, UsageEventRecord[]>();
    for (const e of events) byCustomer.set(e.customerId, [...(byCustomer.get(e.customerId) ?? []), e]);
    const customers = [...byCustomer.keys()];
    await client.query(
      `insert into outbox (topic, customer_id, payload, created_at)
       select 'usage.committed', c, p, $3 from unnest($1::uuid[], $2::jsonb[]) as t(c, p)`,
      [
        customers,
        customers.map((c) =>
          JSON.stringify({
            version: versions.get(c)!.toString(),
            events: byCustomer.get(c)!.map((e) => ({ id: e.id, meter: e.meterCode, amount: e.amount, charged: e.charged.toString(), walletId: e.walletId, balanceAfter: e.balanceAfter?.toString() ?? null })),
          }),
        ),
        now,
      ],
    );
  }
}

export const notCommitted = (err: unknown): AppError =>
  err instanceof AppError ? err : new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'the event could not be made durable; nothing was charged; retry');
