import type { Decimal } from '../shared/money/decimal.js';

/** A tier as written in a rule file: `upTo` is inclusive; null on the last, open tier. */
export interface TierDefinition {
  upTo: string | null;
  unitPrice: string;
  flatFee?: string;
  /** The tier's units are counted in whole blocks of this many units (any size), rounded per `rounding`. */
  blockSize?: string;
  /** How a partial block counts: a whole block ("up", the default) or nothing ("down"). */
  rounding?: 'up' | 'down';
}

export interface PercentTierDefinition {
  upTo: string | null;
  rate: string;
  flatFee?: string;
}

export interface ChargeCommon {
  /** Unique within the rule set; carries the component's period counter across versions. */
  id: string;
  description?: string;
  /** Included allowance: the first freeUnits of the period (per counter) are free. */
  freeUnits?: string;
  /** Prices are per this many units (a power of ten), e.g. "1000000" for per-million-token prices. */
  per?: string;
  /** The period counter this charge reads and advances; charges naming the same one share it. Default: the id. */
  counter?: string;
  /** Keep a separate period counter per value of these event dimensions. */
  counterBy?: string[];
  /**
   * The most the charge's period counter is charged in a period (counter charges only): the
   * event that reaches it pays up to it, later events nothing.
   */
  maximumSpend?: string;
}

/** The parameters of every charge model (each model's file declares its own). */
export type { ChargeParams } from './charge-models/index.js';
import type { ChargeParams } from './charge-models/index.js';

export type ChargeModelName = ChargeParams['model'];

export type AdjustmentParams = {
  id: string;
  description?: string;
  /** Charge ids it applies to; every charge of the event when absent. */
  appliesTo?: string[];
} & ({ kind: 'markup'; percent: string } | { kind: 'discount'; percent: string } | { kind: 'multiplier'; factor: string });

export interface RefusalParams {
  code: string;
  message: string;
}

export type RuleEventDefinition =
  | { type: 'charge'; params: ChargeParams }
  | { type: 'adjustment'; params: AdjustmentParams }
  | { type: 'refuse'; params: RefusalParams };

/** A json-rules-engine condition as the rule files may write it (a safe subset). */
export type ConditionDefinition =
  | { all: ConditionDefinition[] }
  | { any: ConditionDefinition[] }
  | { not: ConditionDefinition }
  | LeafCondition;

export interface LeafCondition {
  fact: FactName;
  path?: string;
  operator: string;
  value: string | number | boolean | null | string[];
}

export type FactName = 'event' | 'customer' | 'plan' | 'period';

export interface RuleDefinition {
  name: string;
  priority?: number;
  conditions: ConditionDefinition;
  event: RuleEventDefinition;
}

/** A price rule set charges customers; a cost book says what serving an event costs. */
export type RuleSetPurpose = 'price' | 'cost';

/** One version of a rule set, as written in `rules/<key>/v<version>.json`. */
export interface RuleSetDefinition {
  key: string;
  version: number;
  effectiveFrom: string;
  /** Says that `effectiveFrom` lies before the version is first published, and why. */
  backdated?: { reason: string };
  currency: string;
  /**
   * What the rule set prices: what customers are charged ("price", the default) or what serving
   * an event costs ("cost": a cost book, which prices each event alone; see cost-book.ts).
   */
  purpose?: RuleSetPurpose;
  description?: string;
  /** The least the rule set's charges add up to in a period; the invoice trues up the rest. */
  minimumSpend?: string;
  /** The most the rule set's charges add up to in a period: the event that reaches it pays up to it, later events nothing. */
  maximumSpend?: string;
  /** What happens to an event no charge prices: refused with UNPRICED_EVENT (the default) or accepted free. */
  unmatched?: 'refuse' | 'free';
  rules: RuleDefinition[];
}

/** The usage event as rating sees it. */
export interface UsageFacts {
  meter: string;
  quantity: Decimal;
  timestamp: Date;
  dimensions: Readonly<Record<string, string>>;
  /** Named amounts the event carries (a provider cost, a transaction amount). */
  values: Readonly<Record<string, Decimal>>;
}

export interface CustomerFacts {
  id: string;
  externalId: string;
  metadata: Readonly<Record<string, string>>;
}

export interface PlanFacts {
  code: string;
  version: number;
}

/** Reads period counters by key (a Map will do). */
export interface CounterLookup {
  get(key: string): Decimal | undefined;
}

/** Period-to-date state before the event. */
export interface PeriodState {
  /** Quantity of the meter so far this period (what `period.quantity` reads). */
  quantity: Decimal;
  /** Values of the charge counters this event uses, by counter key; undefined means zero. */
  counters: CounterLookup;
  /**
   * The billing period the event falls in, [start, end): a RECURRING meter's event is charged for
   * the share of it left from its timestamp on. Absent, that share is the whole period.
   */
  start?: Date;
  end?: Date;
}

/** How a meter turns a period's events into one quantity. */
export type MeterAggregation = 'COUNT' | 'SUM' | 'MAX' | 'UNIQUE_COUNT' | 'LATEST' | 'RECURRING';

/** The meter of the event, as rating needs it. */
export interface MeterFacts {
  aggregation: MeterAggregation;
  /** UNIQUE_COUNT: the event's value of the meter's property (the value whose first sighting is charged). */
  distinctValue?: string;
}

export interface RatingInput {
  event: UsageFacts;
  customer: CustomerFacts;
  plan: PlanFacts | null;
  period: PeriodState;
  /** The event's meter; absent means SUM (each event adds its quantity). */
  meter?: MeterFacts;
}

/** The part of a line that fell in one tier. */
export interface TierPart {
  /** 1-based tier number. */
  tier: number;
  quantity: Decimal;
  unitPrice: Decimal;
  flatFee: Decimal;
  amount: Decimal;
}

/** What a charge adds to its period counter, and the counter values the result holds for. */
export interface CounterUse {
  key: string;
  /** Counter value before the event. */
  before: Decimal;
  /** Amount added to the counter (quantity, carried value, or 1 for an event count). */
  delta: Decimal;
  /** The rating is identical for any counter value in [validFrom, validTo]; validTo null is unbounded. */
  validFrom: Decimal;
  validTo: Decimal | null;
}

export interface AppliedAdjustment {
  id: string;
  kind: 'markup' | 'discount' | 'multiplier';
  /** The factor the line was multiplied by. */
  factor: Decimal;
}

export interface PricedLine {
  componentId: string;
  model: ChargeModelName;
  description: string | null;
  /** Billable quantity of the line (after free units), or the value a percentage applies to. */
  quantity: Decimal;
  /** The exact amount before adjustments: what its tiers (or price) add up to. */
  base: Decimal;
  /** The exact amount, adjustments applied, before any rounding. */
  amount: Decimal;
  /** The amount charged now, in ledger units (1e-9), rounded as documented in rules/README.md. */
  units: bigint;
  tiers: TierPart[];
  adjustments: AppliedAdjustment[];
  counter: CounterUse | null;
  /** True when the amount is provisional until the period closes (volume tiers, LATEST and RECURRING meters). */
  provisional: boolean;
}

export interface RuleSetRef {
  key: string;
  version: number;
  hash: string;
}

export interface Refusal {
  code: string;
  message: string;
  /** The rule that refused (or whose charge lacked a value); empty for UNPRICED_EVENT. */
  rule: string;
  /** 'rule': a refuse rule or a missing value; 'unpriced': no charge priced the event. */
  source: 'rule' | 'unpriced';
}

/** How the event moves the meter's period quantity (what `period.quantity` reads). */
export interface MeterAdvance {
  delta: Decimal;
  /** The advance holds while the meter's quantity is in [validFrom, validTo]; null bounds are open. */
  validFrom: Decimal | null;
  validTo: Decimal | null;
}

export interface EventRating {
  ruleSet: RuleSetRef;
  /** Names of the rules that fired, in the order they were applied. */
  firedRules: string[];
  refusal: Refusal | null;
  lines: PricedLine[];
  /** Sum of the exact line amounts. */
  amount: Decimal;
  /** Sum of the line units: what the wallet is charged, in ledger units. */
  units: bigint;
  /** The meter-quantity values (period.quantity) this result holds for, when rules read it. */
  periodValidity: { from: Decimal; to: Decimal | null } | null;
  /** How the event advances the meter's period quantity (by its aggregation). */
  meterAdvance: MeterAdvance;
  /** Period markers the event sets besides charge counters (UNIQUE_COUNT: its value seen this period). */
  marks: CounterUse[];
}
