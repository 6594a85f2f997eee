import type { CostBookUse } from '../../rating/cost-book.js';
import type { EventRating, PricedLine } from '../../rating/types.js';
import { formatDecimal } from '../../shared/money/decimal.js';

/**
 * A priced line as stored with its event (compact keys: events are many). `ck`/`cd` are the
 * period counter the line advanced and by how much; period snapshots sum them.
 */
export interface StoredLine {
  c: string; // component id
  m: string; // model
  d: string | null; // description
  q: string; // billable quantity
  a: string; // exact amount
  b?: string; // exact amount before adjustments (when any applied)
  u: string; // charged, ledger units
  t: Array<[number, string, string, string, string]>; // tier, quantity, unit price, flat fee, amount
  adj: string[];
  ck?: string;
  cd?: string;
  p?: true; // provisional until the period closes
  s?: true; // counts toward its rule set's maximumSpend: period snapshots sum `u` per rule set
}

/** An accepted usage event, as committed (immutable). */
export interface UsageEventRecord {
  id: string;
  customerId: string;
  idempotencyKey: string;
  requestHash: string;
  meterId: string;
  meterCode: string;
  quantity: string;
  occurredAt: Date;
  dimensions: Record<string, string>;
  values: Record<string, string>;
  periodStart: Date;
  currency: string;
  walletId: string | null;
  /** Exact amount. */
  amount: string;
  /** Charged, in ledger units. */
  charged: bigint;
  ruleSetKey: string;
  ruleSetVersion: number;
  ruleSetHash: string;
  firedRules: string[];
  lines: StoredLine[];
  /** What the event took from each credit block: [block id, ledger units]. */
  allocations: Array<[string, string]>;
  /** The group commit it was posted in; its USAGE ledger entries carry the same id. */
  usageBatchId: string;
  softLimitExceeded: boolean;
  /** The wallet balance right after this event (null for postpaid). */
  balanceAfter: bigint | null;
  /** Available balance right after this event's hold (null for postpaid). */
  availableAfter: bigint | null;
  reservationId: string | null;
  createdAt: Date;
  /**
   * What serving the event cost, in `costCurrency`: exact, and in ledger units rounded half-up
   * once. Every cost field is null when the cost is unknown (no cost book priced the event and it
   * carried no provider cost), never zero.
   */
  cost: string | null;
  costUnits: bigint | null;
  /** BOOK: priced by the cost books in `costBook`; ACTUAL: the event's `values.providerCost`. */
  costSource: 'BOOK' | 'ACTUAL' | null;
  costCurrency: string | null;
  costBook: CostBookUse[] | null;
}

export function toStoredLine(l: PricedLine): StoredLine {
  const line: StoredLine = {
    c: l.componentId,
    m: l.model,
    d: l.description,
    q: formatDecimal(l.quantity),
    a: formatDecimal(l.amount),
    u: l.units.toString(),
    t: l.tiers.map((t) => [t.tier, formatDecimal(t.quantity), formatDecimal(t.unitPrice), formatDecimal(t.flatFee), formatDecimal(t.amount)]),
    adj: l.adjustments.map((a) => a.id),
  };
  if (l.adjustments.length > 0) line.b = formatDecimal(l.base);
  if (l.counter) {
    line.ck = l.counter.key;
    line.cd = formatDecimal(l.counter.delta);
  }
  if (l.provisional) line.p = true;
  return line;
}

export function storedLines(rating: EventRating): StoredLine[] {
  const lines = rating.lines.map(toStoredLine);
  // A rule set with a maximum spend counts what its events were charged (see spendCounterKey).
  if (rating.marks.some((m) => m.key.startsWith('spend:'))) for (const l of lines) l.s = true;
  return lines;
}
