import type { CounterCheck, HoldRecord, PostItem, ReserveEvent } from '../reservations/index.js';
import { Decimal } from '../../shared/money/decimal.js';
import { heldUnits, type UsageJob } from './usage-job.pure.js';

/*
 * A rated job as the reservation store sees it: the event it reserves, the hold an
 * authorization keeps, and the item that makes a committed hold final.
 */

const UNITS = new Decimal(1e9);

/** A counter value in the store's units (1e-9), as the store keeps counters. */
export const toCounterUnits = (x: Decimal): bigint => BigInt(x.times(UNITS).toFixed(0));

/** Period counters and the meter quantity a usage event moves; an authorization moves none. */
function counterChecks(job: UsageJob): { counters: CounterCheck[]; meterQuantity: ReserveEvent['meterQuantity'] } {
  if (job.kind === 'authorization') return { counters: [], meterQuantity: null };
  const rating = job.rating!;
  const byKey = new Map<string, { delta: bigint; from: bigint; to: bigint | null; shared: boolean }>();
  for (const line of rating.lines) {
    const c = line.counter;
    if (!c) continue;
    const prior = byKey.get(c.key);
    if (prior) {
      // Lines sharing a counter in one event: hold only for the exact counter value.
      prior.delta += toCounterUnits(c.delta);
      prior.shared = true;
    } else {
      byKey.set(c.key, { delta: toCounterUnits(c.delta), from: toCounterUnits(c.validFrom), to: c.validTo && toCounterUnits(c.validTo), shared: false });
    }
  }
  const counters: CounterCheck[] = [...byKey].map(([key, c]) => {
    const before = rating.lines.find((l) => l.counter?.key === key)!.counter!.before;
    return c.shared ? { key, delta: c.delta, from: toCounterUnits(before), to: toCounterUnits(before) } : { key, ...c };
  });
  for (const m of rating.marks) counters.push({ key: m.key, delta: toCounterUnits(m.delta), from: toCounterUnits(m.validFrom), to: m.validTo && toCounterUnits(m.validTo) });
  const mq = rating.meterAdvance;
  return {
    counters,
    meterQuantity: { meter: job.ctx.meter.code, delta: toCounterUnits(mq.delta), from: mq.validFrom && toCounterUnits(mq.validFrom), to: mq.validTo && toCounterUnits(mq.validTo) },
  };
}

/** The reservation of a rated job; a usage hold lapses `holdMs` from now, an authorization's when it expires. */
export function toReserveEvent(job: UsageJob, now: number, holdMs: number): ReserveEvent {
  job.checks = counterChecks(job);
  return {
    idempotencyKey: job.key,
    requestHash: job.hash,
    holdId: job.holdId,
    expiresAt: job.authorization ? job.authorization.expiresAt.getTime() : now + holdMs,
    kind: job.kind,
    currency: job.ctx.ruleSet.currency,
    amount: heldUnits(job),
    periodKey: job.ctx.periodKey,
    ...job.checks,
    settles: job.settles?.holdId ?? null,
  };
}

/** The hold an authorization keeps in the store until it is settled, released or expires. */
export function keptHold(job: UsageJob): HoldRecord {
  const r = job.reserved!;
  return {
    t: 'r',
    k: job.key,
    hs: job.hash,
    cur: job.ctx.ruleSet.currency,
    amt: heldUnits(job).toString(),
    w: r.walletId ?? '',
    a: r.allocations.map((a) => [a.blockId, a.amount.toString()]),
    exp: String(job.authorization!.expiresAt.getTime()),
    cr: String(job.at.getTime()),
    per: job.ctx.periodKey,
    c: [],
    mq: null,
    postpaid: r.walletId === null,
  };
}

/** Makes a committed job's hold final: a usage event's is spent, an authorization's kept. */
export function postItem(job: UsageJob): PostItem {
  const r = job.reserved!;
  const { counters, meterQuantity } = job.checks ?? counterChecks(job);
  const keep = job.kind === 'authorization';
  return {
    holdId: job.holdId,
    idempotencyKey: job.key,
    requestHash: job.hash,
    ref: job.eventId,
    keep,
    hold: keep ? keptHold(job) : null,
    allocations: r.allocations,
    periodKey: keep ? '' : job.ctx.periodKey,
    counters: counters.map((c) => [c.key, c.delta]),
    meterQuantity: meterQuantity && [meterQuantity.meter, meterQuantity.delta],
    currency: job.ctx.ruleSet.currency,
    amount: heldUnits(job),
    postpaid: r.walletId === null,
    walletId: r.walletId,
  };
}
