import type { EventCost } from '../../rating/cost-book.js';
import { formatDecimal } from '../../shared/money/decimal.js';
import type { Reservation } from '../reservations/index.js';
import { keptHold } from './reserve-events.pure.js';
import { storedLines, type UsageEventRecord } from './usage-event.record.js';
import type { UsageJob } from './usage-job.pure.js';

/* What a reserved job is stored as: a usage event's row, or an authorization's reservation. */

/** A committed usage event's row. */
export function toEventRecord(job: UsageJob, now: Date): UsageEventRecord {
  const rating = job.rating!;
  const r = job.reserved!;
  return {
    id: job.eventId,
    customerId: job.ctx.customer.id,
    idempotencyKey: job.key,
    requestHash: job.hash,
    meterId: job.ctx.meter.id,
    meterCode: job.ctx.meter.code,
    quantity: formatDecimal(job.quantity),
    occurredAt: job.at,
    dimensions: { ...job.dimensions },
    values: Object.fromEntries(Object.entries(job.values).map(([k, v]) => [k, formatDecimal(v)])),
    periodStart: job.ctx.period.start,
    currency: job.ctx.ruleSet.currency,
    walletId: r.walletId,
    amount: formatDecimal(rating.amount),
    charged: rating.units,
    ruleSetKey: rating.ruleSet.key,
    ruleSetVersion: rating.ruleSet.version,
    ruleSetHash: rating.ruleSet.hash,
    firedRules: rating.firedRules,
    lines: storedLines(rating),
    allocations: [],
    usageBatchId: '',
    softLimitExceeded: r.softLimitExceeded,
    balanceAfter: null,
    availableAfter: r.available,
    reservationId: job.settles?.reservationId ?? null,
    createdAt: now,
    ...costFields(job.cost ?? null),
  };
}

/** The cost columns of an event: all null when its cost is unknown. */
function costFields(cost: EventCost | null): Pick<UsageEventRecord, 'cost' | 'costUnits' | 'costSource' | 'costCurrency' | 'costBook'> {
  if (!cost) return { cost: null, costUnits: null, costSource: null, costCurrency: null, costBook: null };
  return {
    cost: formatDecimal(cost.amount),
    costUnits: cost.units,
    costSource: cost.source,
    costCurrency: cost.currency,
    costBook: cost.source === 'BOOK' ? cost.books : null,
  };
}

/** An authorization's reservation: its id is its hold's. */
export function toReservation(job: UsageJob): Reservation {
  const hold = keptHold(job);
  return {
    id: job.eventId,
    customerId: job.ctx.customer.id,
    idempotencyKey: job.key,
    requestHash: job.hash,
    meterCode: job.ctx.meter.code,
    dimensions: { ...job.dimensions },
    values: Object.fromEntries(Object.entries(job.values).map(([k, v]) => [k, formatDecimal(v)])),
    estimatedQuantity: job.authorization!.estimatedQuantity && formatDecimal(job.authorization!.estimatedQuantity),
    currency: job.ctx.ruleSet.currency,
    walletId: job.reserved!.walletId,
    amount: BigInt(hold.amt),
    hold,
    periodStart: job.ctx.period.start,
    status: 'OPEN',
    expiresAt: job.authorization!.expiresAt,
    settledEventId: null,
    createdAt: job.at,
    updatedAt: job.at,
  };
}
