import type { EventCost } from '../../rating/cost-book.js';
import type { EventRating } from '../../rating/types.js';
import type { Decimal } from '../../shared/money/decimal.js';
import type { CounterCheck, ReserveEvent, ReserveResult } from '../reservations/index.js';
import type { UsageContext } from './usage-context.cache.js';
import type { UsageOutcome } from './usage-outcomes.pure.js';

/**
 * A usage event, or an authorization of one, on its way through the pipeline: validated and
 * resolved (its context), then rated, reserved, committed, posted and published.
 */
export interface UsageJob {
  /** usage: charged once committed; authorization: held until settled, released or expired. */
  kind: 'usage' | 'authorization';
  index: number;
  key: string;
  hash: string;
  ctx: UsageContext;
  at: Date;
  /** The event's quantity; an authorization's estimate (1 when it holds an amount). */
  quantity: Decimal;
  dimensions: Record<string, string>;
  values: Record<string, Decimal>;
  /** The committed event's id, or the reservation's. */
  eventId: string;
  holdId: string;
  /** An authorization: the quantity it was priced for (null when an amount is held), the amount given, and when it lapses. */
  authorization?: { estimatedQuantity: Decimal | null; amount: bigint | null; expiresAt: Date };
  /** The authorization hold and reservation this event settles. */
  settles: { holdId: string; reservationId: string } | null;
  rating?: EventRating;
  /** What serving the event cost (cost books, or its actual provider cost); null when unknown. Rated once. */
  cost?: EventCost | null;
  /** The counters and meter quantity the last reservation moved (set when it is built). */
  checks?: { counters: CounterCheck[]; meterQuantity: ReserveEvent['meterQuantity'] };
  reserved?: Extract<ReserveResult, { status: 'OK' }>;
  outcome?: UsageOutcome;
  waiting?: boolean;
}

/** What a job holds: an authorization's given amount, or what the rules priced. */
export const heldUnits = (job: UsageJob): bigint => job.authorization?.amount ?? job.rating!.units;
