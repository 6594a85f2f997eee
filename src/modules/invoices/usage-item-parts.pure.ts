import type { CompiledRuleSet } from '../../rating/compile.js';
import type { AdjustmentParams, CustomerFacts, MeterAggregation, PlanFacts } from '../../rating/types.js';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import type { Period } from '../subscriptions/index.js';
import { LineKind, type AdjustmentLine, type BillingItem, type TierLine } from './invoice.record.js';

/*
 * What the pure invoice calculation shares: a period's usage as the repository reads it, the
 * plan charges it is presented by, and the small helpers that key, describe and adjust lines.
 */

const ZERO = new Decimal(0);
const ONE = new Decimal(1);

/** Committed usage of a period, summed per meter, rule-set version, group and priced line. */
export interface UsageGroup {
  meterCode: string;
  ruleSetKey: string;
  ruleSetVersion: number;
  ruleSetHash: string;
  dimensions: Record<string, string>;
  component: string;
  provisional: boolean;
  counterKey: string | null;
  adjustments: string[];
  events: number;
  /** Billable quantity (after free units). */
  quantity: Decimal;
  /** Exact priced amount. */
  amount: Decimal;
  /** Exact amount before adjustments (what the tiers add up to). */
  base: Decimal;
  /** What the lines advanced their period counter by (free units included). */
  counted: Decimal;
  tiers: Array<{ tier: number; unitPrice: Decimal; flatFee: Decimal; quantity: Decimal; amount: Decimal }>;
}

/** A plan charge as the invoice presents it. */
export interface ChargeInfo {
  meterCode: string;
  meterName: string;
  aggregation: MeterAggregation;
  ruleSetKey: string;
  displayName: string | null;
  groupBy: string[];
}

/** LATEST meters: the last event's quantity (by time, then id) per counter of a period. */
export interface LatestValue {
  ruleSetKey: string;
  ruleSetVersion: number;
  component: string;
  counterKey: string;
  value: Decimal;
  adjustments: string[];
}

/** A level a RECURRING meter was set to, by the event at `at` (with its dimensions). */
export interface LevelSet {
  at: Date;
  level: Decimal;
  dimensions: Record<string, string>;
}

/** A RECURRING meter in a period: the level carried in from before it, and the levels set in it by time. */
export interface MeterLevels {
  meterCode: string;
  carried: LevelSet | null;
  changes: LevelSet[];
}

export interface RuleSetLookup {
  version(key: string, version: number): CompiledRuleSet | undefined;
  resolve(key: string, at: Date): CompiledRuleSet | undefined;
}

export interface UsageItemsInput {
  period: Period;
  groups: UsageGroup[];
  latest: LatestValue[];
  /** RECURRING meters with a level carried in or set in the period. */
  levels?: MeterLevels[];
  charges: ChargeInfo[];
  rules: RuleSetLookup;
  customer: CustomerFacts;
  plan: PlanFacts | null;
  /** The invoice's one rounding step (currency exponent and mode). */
  round: (amount: Decimal) => Decimal;
}

const dimsText = (d: Record<string, string>): string =>
  Object.keys(d).length === 0 ? '' : ` (${Object.entries(d).map(([k, v]) => `${k} ${v}`).join(', ')})`;
const dimsKey = (d: Record<string, string>): string => JSON.stringify(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : 1)));
export const itemKey = (g: { meterCode: string; ruleSetKey: string; component: string; dimensions: Record<string, string> }) =>
  `${g.meterCode}:${g.ruleSetKey}:${g.component}:${dimsKey(g.dimensions)}`;
export const counterOf = (g: { ruleSetKey: string; component: string; counterKey: string | null }) => `${g.ruleSetKey}|${g.component}|${g.counterKey}`;

export function describe(input: UsageItemsInput, g: { meterCode: string; ruleSetKey: string; component: string; dimensions: Record<string, string> }, rs: CompiledRuleSet | undefined): string {
  const charge = input.charges.find((c) => c.meterCode === g.meterCode && c.ruleSetKey === g.ruleSetKey) ?? input.charges.find((c) => c.meterCode === g.meterCode);
  const component = rs?.components.get(g.component)?.params.description ?? g.component;
  return `${charge?.displayName ?? charge?.meterName ?? g.meterCode}: ${component}${dimsText(g.dimensions)}`;
}

export const aggregationOf = (input: UsageItemsInput, meterCode: string): MeterAggregation => input.charges.find((c) => c.meterCode === meterCode)?.aggregation ?? 'SUM';

export const lineBase = (period: Period, kind: LineKind, key: string, description: string, meterCode: string | null, dimensions: Record<string, string> | null) => ({
  kind,
  key,
  periodStart: period.start,
  periodEnd: period.end,
  description,
  meterCode,
  dimensions,
  taxable: kind !== LineKind.ALLOWANCE,
  tiers: [] as TierLine[],
  adjustments: [] as AdjustmentLine[],
  details: {} as Record<string, unknown>,
});

function adjustmentParams(rs: CompiledRuleSet, id: string): AdjustmentParams | undefined {
  for (const rule of rs.definition.rules) if (rule.event.type === 'adjustment' && rule.event.params.id === id) return rule.event.params;
  return undefined;
}

/** The product of the adjustments a line got, by id, in its rule-set version. */
export function factorOf(rs: CompiledRuleSet, ids: string[]): Decimal {
  let factor = ONE;
  for (const id of ids) {
    const params = adjustmentParams(rs, id);
    if (params) factor = factor.times(rs.adjustmentFactor(params));
  }
  return factor;
}

/**
 * What each adjustment adds to an amount before adjustments (`base`), applied in order: each
 * step is the running amount times the factor, less the running amount. The steps add up to
 * base × (product of factors) − base exactly, so tiers (which add up to the base) plus the steps
 * make the line.
 */
export class AdjustmentTally {
  private readonly steps = new Map<string, { params: AdjustmentParams; amount: Decimal }>();

  add(rs: CompiledRuleSet | undefined, ids: string[], amountBefore: Decimal): void {
    if (!rs) return;
    let running = amountBefore;
    for (const id of ids) {
      const params = adjustmentParams(rs, id);
      if (!params) continue;
      const next = running.times(rs.adjustmentFactor(params));
      const step = this.steps.get(id) ?? { params, amount: ZERO };
      step.amount = step.amount.plus(next.minus(running));
      this.steps.set(id, step);
      running = next;
    }
  }

  lines(): AdjustmentLine[] {
    return [...this.steps.values()].map(({ params, amount }) => ({
      id: params.id,
      kind: params.kind,
      description: params.description ?? null,
      rate: params.kind === 'multiplier' ? params.factor : params.percent,
      amount: formatDecimal(amount),
    }));
  }
}

/** A true-up's rounded figure: what the usage line and the true-up round to together, less the usage line's own. */
export function derivedRounding(input: UsageItemsInput, usage: BillingItem | undefined, trueUp: Decimal): Decimal {
  const own = usage ? usage.rounded ?? input.round(usage.amount) : ZERO;
  return input.round((usage?.amount ?? ZERO).plus(trueUp)).minus(own);
}

