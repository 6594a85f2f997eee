import type { SqlClient, SqlPool } from '../../db/sql.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
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
  allocations: UsageEventRecord['allocations'];
  usage_batch_id: string;
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
  allocations: r.allocations,
  usageBatchId: r.usage_batch_id,
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

  /** Events by (customer, key), keyed "customerId|key". */
  async findByKeys(refs: Array<{ customerId: string; key: string }>): Promise<Map<string, UsageEventRecord>> {
    const rows = await this.sql.query<Row>(
      `select * from usage_event where (customer_id, idempotency_key) in (select * from unnest($1::uuid[], $2::varchar[]))`,
      [refs.map((r) => r.customerId), refs.map((r) => r.key)],
    );
    return new Map(rows.map((r) => [`${r.customer_id}|${r.idempotency_key}`, toRecord(r)]));
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
    const batchId = newId(now.getTime());
    const posted = new Map<string, { walletId: string; blockId: string; amount: bigint }>();
    for (const { event, allocations } of fresh) {
      event.usageBatchId = batchId;
      event.allocations = allocations.filter((a) => a.amount !== 0n).map((a) => [a.blockId, a.amount.toString()]);
      if (!event.walletId) continue;
      const after = balances.get(event.walletId)! - event.charged;
      balances.set(event.walletId, after);
      event.balanceAfter = after;
      for (const a of allocations) {
        const p = posted.get(a.blockId) ?? { walletId: event.walletId, blockId: a.blockId, amount: 0n };
        p.amount += a.amount;
        posted.set(a.blockId, p);
      }
    }

    if (fresh.length) {
      // One USAGE entry per wallet and block for the whole commit; each event keeps its share.
      const entries = [...posted.values()]
        .filter((p) => p.amount !== 0n)
        .map((p) => ({ walletId: p.walletId, creditBlockId: p.blockId, kind: 'USAGE' as const, amount: -p.amount, usageBatchId: batchId, createdAt: now }));
      await this.ledger.append(client, entries, versions);
      const inserted = await this.insertEvents(client, fresh.map((e) => e.event));
      if (inserted !== fresh.length) throw new DuplicateRace('a concurrent commit took an idempotency key');
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

  /** All events in one statement: one JSON document, expanded by PostgreSQL (far cheaper than 27 arrays). */
  private async insertEvents(client: SqlClient, events: UsageEventRecord[]): Promise<number> {
    const rows = events.map((e) => ({
      id: e.id,
      customer_id: e.customerId,
      idempotency_key: e.idempotencyKey,
      request_hash: e.requestHash,
      meter_id: e.meterId,
      meter_code: e.meterCode,
      quantity: e.quantity,
      occurred_at: e.occurredAt,
      dimensions: e.dimensions,
      values: e.values,
      period_start: e.periodStart,
      currency: e.currency,
      wallet_id: e.walletId,
      amount: e.amount,
      charged: e.charged.toString(),
      rule_set_key: e.ruleSetKey,
      rule_set_version: e.ruleSetVersion,
      rule_set_hash: e.ruleSetHash,
      fired_rules: e.firedRules,
      lines: e.lines,
      allocations: e.allocations,
      usage_batch_id: e.usageBatchId,
      soft_limit_exceeded: e.softLimitExceeded,
      balance_after: e.balanceAfter?.toString() ?? null,
      available_after: e.availableAfter?.toString() ?? null,
      reservation_id: e.reservationId,
      created_at: e.createdAt,
    }));
    const result = await client.query(
      `insert into usage_event
       select * from jsonb_populate_recordset(null::usage_event, $1::jsonb)
       on conflict (customer_id, idempotency_key) do nothing`,
      [JSON.stringify(rows)],
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
