import type { MeterAggregation } from '../../rating/types.js';

/**
 * One recorded usage event as the simulation streams it: a row in array mode, every column as
 * PostgreSQL's text (session time zone UTC): customer id, period start, occurrence, meter code,
 * quantity, dimensions and values (JSON), rule-set key, currency and what was charged in ledger
 * units (1e-9).
 */
export type SimulationEventRow = [
  customerId: string,
  periodStart: string,
  occurredAt: string,
  meterCode: string,
  quantity: string,
  dimensions: string,
  values: string,
  ruleSetKey: string,
  currency: string,
  charged: string,
];

/** A customer as rating sees it, with its subscriptions' plans over time. */
export interface SimulationCustomer {
  id: string;
  externalId: string;
  metadata: Record<string, string>;
  /** Its subscriptions: the plan in force at an event is the latest started and not ended. */
  plans: Array<{ startsAt: number; endsAt: number | null; code: string; version: number }>;
}

export interface SimulationMeter {
  aggregation: MeterAggregation;
  property: string | null;
}

/** The recorded events a simulation re-rates: occurred in [from, to), of these customers (all when null). */
export interface SimulationWindow {
  from: Date;
  to: Date;
  customerIds: string[] | null;
}

/** Events read per FETCH of the simulation's cursor. */
export const SIMULATION_BATCH = 10_000;

/** The sort memory of a simulation's statement. */
export const SIMULATION_WORK_MEM = '128MB';
