import { isCheckViolation, isNumericOverflow, isSerializationFailure, outOfRange, type SqlPool } from '../../db/sql.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { AlertRecord } from '../alerts/index.js';
import type { Allocation, PostItem } from '../reservations/index.js';
import type { UsageEventRecord } from './usage-event.record.js';

/** Events that commit together: all, or (when atomic) none. */
export interface CommitBundle {
  atomic: boolean;
  /** `settles`: the reservation an event settles, which must still be OPEN; `post`: makes its hold final once committed. */
  events: Array<{ event: UsageEventRecord; allocations: Allocation[]; settles: string | null; post: PostItem }>;
}

/** What one commit changed for a customer (usage_commit's notice; its outbox row's payload). */
export interface CustomerNotice {
  customerId: string;
  outboxId: string;
  /** The customer's account version after the commit. */
  version: string;
  events: number;
  charged: string;
  /** Per wallet: balance after, the change, and the ledger sequence it moved from and to. */
  wallets: Record<string, { currency: string; balance: string; change: string; sequence: string; from: string }>;
  /** Period spend after the commit, per currency and period the events fell in. */
  spend: Array<{ currency: string; periodStart: string; charged: string }>;
  alerts: AlertRecord[];
}

export interface CommitResult {
  outcomes: CommitOutcome[][];
  notices: CustomerNotice[];
}

export type CommitOutcome =
  | { kind: 'committed'; event: UsageEventRecord; version: bigint }
  | { kind: 'duplicate' }
  | { kind: 'failed'; error: AppError | unknown };

/** A usage_event row as `select e.*` reads it. */
export interface UsageEventRow {
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
  cost: string | null;
  cost_units: string | null;
  cost_source: UsageEventRecord['costSource'];
  cost_currency: string | null;
  cost_book: UsageEventRecord['costBook'];
}

type Row = UsageEventRow;

export const toUsageEventRecord = (r: Row): UsageEventRecord => ({
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
  cost: r.cost,
  costUnits: r.cost_units === null ? null : BigInt(r.cost_units),
  costSource: r.cost_source,
  costCurrency: r.cost_currency,
  costBook: r.cost_book,
});

/**
 * Session settings of the connections usage_commit runs on: every statement in it finds its rows
 * by key, so they plan for index lookups only, once per connection (see app.ts).
 */
export const COMMIT_SESSION = { enable_seqscan: 'off', plan_cache_mode: 'force_generic_plan' };

/**
 * Makes usage durable: events, their USAGE ledger entries and outbox rows, for a whole group of
 * requests in one call of the usage_commit function (one statement, one round trip; see
 * src/db/functions/usage_commit.sql). Commits run on `commitSql` (COMMIT_SESSION), lookups on `sql`.
 */
export class UsageRepository {
  constructor(
    private readonly commitSql: SqlPool,
    private readonly sql: SqlPool = commitSql,
  ) {}

  /*
   * Events are found through usage_event_key, which holds every key with its event's id and
   * time: the time names the one monthly partition of usage_event to read (the others are
   * pruned once the key is read). A key whose event retention has dropped finds no event;
   * keyRecorded still knows it.
   */

  async findByKey(customerId: string, idempotencyKey: string): Promise<UsageEventRecord | null> {
    const rows = await this.sql.query<Row>(
      `select e.* from usage_event e
        where (e.id, e.occurred_at) = (select k.event_id, k.occurred_at from usage_event_key k where k.customer_id = $1 and k.idempotency_key = $2)`,
      [customerId, idempotencyKey],
    );
    return rows[0] ? toUsageEventRecord(rows[0]) : null;
  }

  /** Events by (customer, key), keyed "customerId|key". */
  async findByKeys(refs: Array<{ customerId: string; key: string }>): Promise<Map<string, UsageEventRecord>> {
    const rows = await this.sql.query<Row>(
      `select e.* from usage_event_key k join usage_event e on e.id = k.event_id and e.occurred_at = k.occurred_at
        where (k.customer_id, k.idempotency_key) in (select * from unnest($1::uuid[], $2::varchar[]))`,
      [refs.map((r) => r.customerId), refs.map((r) => r.key)],
    );
    return new Map(rows.map((r) => [`${r.customer_id}|${r.idempotency_key}`, toUsageEventRecord(r)]));
  }

  async findById(id: string): Promise<UsageEventRecord | null> {
    const rows = await this.sql.query<Row>(
      `select e.* from usage_event e where (e.id, e.occurred_at) = (select k.event_id, k.occurred_at from usage_event_key k where k.event_id = $1)`,
      [id],
    );
    return rows[0] ? toUsageEventRecord(rows[0]) : null;
  }

  /** When the event committed under a key happened, kept for every key, also once retention dropped the event. */
  async keyRecorded(customerId: string, idempotencyKey: string): Promise<{ eventId: string; occurredAt: Date } | null> {
    const rows = await this.sql.query<{ event_id: string; occurred_at: Date }>(
      'select event_id, occurred_at from usage_event_key where customer_id = $1 and idempotency_key = $2',
      [customerId, idempotencyKey],
    );
    return rows[0] ? { eventId: rows[0].event_id, occurredAt: rows[0].occurred_at } : null;
  }

  /**
   * Commits bundles together. When that fails (a wallet floor or a spending cap the store could
   * not see after losing its state, say), each bundle is retried alone, and a non-atomic bundle event by event,
   * so one bad event does not sink its neighbours.
   */
  async commitBundles(bundles: CommitBundle[], now: Date): Promise<CommitResult> {
    try {
      return await this.commitOnce(bundles, now);
    } catch (err) {
      if (bundles.length === 1 && (bundles[0]!.atomic || bundles[0]!.events.length === 1)) {
        return { outcomes: [bundles[0]!.events.map(() => ({ kind: 'failed' as const, error: asCommitError(err) }))], notices: [] };
      }
      const outcomes: CommitOutcome[][] = [];
      const notices: CustomerNotice[] = [];
      const alone = async (b: CommitBundle) => {
        const r = await this.commitBundles([b], now);
        notices.push(...r.notices);
        return r.outcomes[0]!;
      };
      for (const b of bundles) {
        if (b.atomic) outcomes.push(await alone(b));
        else outcomes.push((await Promise.all(b.events.map((e) => alone({ atomic: false, events: [e] })))).map((o) => o[0]!));
      }
      return { outcomes, notices };
    }
  }

  /** One usage_commit call; a serialization failure (a key taken meanwhile, a deadlock) is retried. */
  private async commitOnce(bundles: CommitBundle[], now: Date): Promise<CommitResult> {
    const all = bundles.flatMap((b) => b.events);
    const batchId = newId(now.getTime());
    const payload = JSON.stringify(all.map(({ event, allocations, settles }) => toRow(event, allocations, settles, batchId)));
    let rows: Array<{ event_id: string; inserted: boolean; balance_after: string | null; version: string; notice: Omit<CustomerNotice, 'customerId'> | null }> = [];
    for (let attempt = 1; ; attempt++) {
      try {
        rows = await this.commitSql.query('select * from usage_commit($1::jsonb, $2, $3)', [payload, batchId, now]);
        break;
      } catch (err) {
        if (!isSerializationFailure(err) || attempt >= 4) throw err;
      }
    }
    const byId = new Map(rows.map((r) => [r.event_id, r]));
    const notices: CustomerNotice[] = [];
    const outcomes = bundles.map((b) =>
      b.events.map(({ event, allocations }) => {
        const r = byId.get(event.id)!;
        if (r.notice) notices.push({ ...r.notice, customerId: event.customerId });
        if (!r.inserted) return { kind: 'duplicate' as const };
        event.usageBatchId = batchId;
        event.allocations = allocations.filter((a) => a.amount !== 0n).map((a) => [a.blockId, a.amount.toString()]);
        event.balanceAfter = r.balance_after === null ? null : BigInt(r.balance_after);
        return { kind: 'committed' as const, event, version: BigInt(r.version) };
      }),
    );
    return { outcomes, notices };
  }
}

function toRow(e: UsageEventRecord, allocations: Allocation[], settles: string | null, batchId: string) {
  return {
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
    allocations: allocations.filter((a) => a.amount !== 0n).map((a) => [a.blockId, a.amount.toString()]),
    usage_batch_id: batchId,
    soft_limit_exceeded: e.softLimitExceeded,
    available_after: e.availableAfter?.toString() ?? null,
    reservation_id: settles ?? e.reservationId,
    created_at: e.createdAt,
    cost: e.cost,
    cost_units: e.costUnits?.toString() ?? null,
    cost_source: e.costSource,
    cost_currency: e.costCurrency,
    cost_book: e.costBook,
  };
}

/** What a failed commit means to the caller. */
function asCommitError(err: unknown): AppError | unknown {
  if (err instanceof AppError) return err;
  if (isCheckViolation(err, 'wallet_floor') || isCheckViolation(err, 'credit_block_grant_not_negative')) {
    return new AppError(ErrorCode.WALLET_INSUFFICIENT_FUNDS, 'the wallet does not hold enough funds for this event');
  }
  if (isCheckViolation(err, 'spending_cap')) {
    return new AppError(ErrorCode.SPENDING_LIMIT_REACHED, "the customer's spending cap for this period is reached");
  }
  if ((err as { hint?: string }).hint === 'RESERVATION_CLOSED') {
    return new AppError(ErrorCode.RESERVATION_CLOSED, 'the reservation has expired, or was settled or released');
  }
  if (isNumericOverflow(err)) return outOfRange('the resulting balance');
  return err;
}

export const notCommitted = (err: unknown): AppError =>
  err instanceof AppError ? err : new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'the event could not be made durable; nothing was charged; retry');
