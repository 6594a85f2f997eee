/** What margins are grouped by. */
export enum MarginGroupBy {
  /** The event's `model` dimension ("(none)" for events without one). */
  MODEL = 'MODEL',
  /** The customer (its external id). */
  CUSTOMER = 'CUSTOMER',
  /** The plan (code) of the customer's subscription at the event's time ("(none)" without one). */
  PLAN = 'PLAN',
  /** The UTC day of the event (YYYY-MM-DD). */
  DAY = 'DAY',
}

/** The key of events without the grouped value (no `model` dimension, no subscription). */
export const NO_VALUE = '(none)';

/** The longest window one margins query may cover through the API. */
export const MAX_MARGIN_DAYS = 92;

/** Sums of one group and currency, as the repository reads them; amounts in ledger units. */
export interface MarginSums {
  key: string;
  currency: string;
  events: bigint;
  /** What the events were charged (usage_event.charged). */
  revenue: bigint;
  /** What serving them cost, for events whose cost is known and in the same currency. */
  cost: bigint;
  /** Events whose cost is unknown, or in another currency than their revenue. */
  uncosted: bigint;
}

export interface MarginWindow {
  from: Date;
  to: Date;
  groupBy: MarginGroupBy;
  /** Only this customer's events (null: every customer). */
  customerId: string | null;
}
