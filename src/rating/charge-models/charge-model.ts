import { Decimal } from '../../shared/money/decimal.js';
import type { ChargeModelName } from '../types.js';
import type { Priced } from './tiers.js';

/** One counter unit: the finest step a period counter moves by (1e-9). */
export const COUNTER_EPSILON = new Decimal('1e-9');
export const ZERO = new Decimal(0);

/**
 * Where a per-event result stays the same: for any billable counter start in [from, to] the
 * event gets the same lines; within it the amount grows by `slope` per unit of the event.
 */
export interface Piece {
  from: Decimal;
  to: Decimal | null;
  slope: Decimal;
  /** slope in ledger units when whole, so integer quantities price with bigint arithmetic. */
  slopeUnits: bigint | null;
  /** The 1-based tier the whole range lies in, for the line's breakdown; null without tiers. */
  tier: number | null;
}

/** A charge priced from a period counter: the event moves the counter from a to b. */
export interface CumulativeCharge {
  kind: 'cumulative';
  model: ChargeModelName;
  measure: 'quantity' | 'value';
  /** The value name for value-measured charges. */
  of: string | null;
  /** True when per-event charges add up exactly to the aggregate (telescoped); false when provisional. */
  exact: boolean;
  /** Per-event charge of the billable range (a, b]. */
  range(a: Decimal, b: Decimal): Priced;
  /** Aggregate of a period whose billable counter reached x. */
  total(x: Decimal): Priced;
  /** The piece holding (a, b], or null when the range crosses a bound where the price changes. */
  piece(a: Decimal, b: Decimal): Piece | null;
  /** Volume charges: the tier a period total of x falls in, whose price every unit gets. */
  tierAt?(x: Decimal): { tier: number; unitPrice: Decimal; flatFee: Decimal };
}

/** A charge priced from each event alone (optionally counting events for free events). */
export interface PerEventCharge {
  kind: 'per-event';
  model: ChargeModelName;
  of: string;
  /** Whether the charge needs the count of earlier events in the period. */
  countsEvents: boolean;
  /**
   * Whether the charge needs the period's running total of the value `of` before the event (a free
   * amount); its counter then advances by the event's value. Never together with countsEvents.
   */
  countsValue?: boolean;
  price(value: Decimal, eventsBefore: number, valueBefore?: Decimal): Priced;
  /** Event counts for which price() stays the same, or null when it does not depend on them. */
  eventsPiece(eventsBefore: number): { from: number; to: number | null } | null;
  /** Running totals before the event for which price() stays the same (countsValue charges). */
  valuePiece?(valueBefore: Decimal, value: Decimal): { from: Decimal; to: Decimal | null };
  /**
   * Aggregate over a period of `events` events carrying `value` in all, or null when per-event
   * minimums or maximums make that impossible; `estimated` when it assumes equal values per event.
   */
  total(value: Decimal, events: number): (Priced & { estimated?: boolean }) | null;
}

export type CompiledCharge = CumulativeCharge | PerEventCharge;

/** Collects the figures a charge's description may state (see description-figures.ts). */
export interface FigureSink {
  /** A figure as written. */
  figure(value: string | number | Decimal): void;
  /** A price quoted per `per` units: the figure and the price per unit. */
  price(text: string): void;
}

/**
 * Everything rating knows of one charge model, registered once in CHARGE_MODELS (index.ts):
 * its pricing function, the figures a description may state, and the checks the JSON Schema
 * cannot express. Its parameters' shape is in rules/rule-set.schema.json.
 */
export interface ChargeModel<P> {
  /** The pricing function of a charge; `per` is the charge's `per` (1 when absent). */
  compile(params: P, per: Decimal): CompiledCharge;
  /** The figures of its parameters (`per` and `freeUnits` are added for every model). */
  figures(params: P, out: FigureSink): void;
  /** Problems the schema cannot state, as [parameter, message]. */
  check?(params: P): Array<[string, string]>;
}

export const dec = (text: string | undefined, fallback = ZERO): Decimal => (text === undefined ? fallback : new Decimal(text));

/** Prices quoted per `per` units become prices per unit; `per` is a power of ten, so this is exact. */
export function perUnit(text: string, per: Decimal): Decimal {
  return new Decimal(text).div(per);
}
