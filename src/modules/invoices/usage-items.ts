import type { CompiledRuleSet } from '../../rating/compile.js';
import { rateAggregate } from '../../rating/rate-aggregate.js';
import type { CustomerFacts, PlanFacts } from '../../rating/types.js';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import type { Period } from '../subscriptions/billing-period.js';
import { LineKind, type BillingItem, type TierLine } from './invoice.record.js';

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
  /** What the lines advanced their period counter by (free units included). */
  counted: Decimal;
  tiers: Array<{ tier: number; unitPrice: Decimal; flatFee: Decimal; quantity: Decimal; amount: Decimal }>;
}

/** A plan charge as the invoice presents it. */
export interface ChargeInfo {
  meterCode: string;
  meterName: string;
  ruleSetKey: string;
  displayName: string | null;
  groupBy: string[];
}

export interface RuleSetLookup {
  version(key: string, version: number): CompiledRuleSet | undefined;
  resolve(key: string, at: Date): CompiledRuleSet | undefined;
}

export interface UsageItemsInput {
  period: Period;
  groups: UsageGroup[];
  charges: ChargeInfo[];
  rules: RuleSetLookup;
  customer: CustomerFacts;
  plan: PlanFacts | null;
}

const dimsText = (d: Record<string, string>): string =>
  Object.keys(d).length === 0 ? '' : ` (${Object.entries(d).map(([k, v]) => `${k} ${v}`).join(', ')})`;
const dimsKey = (d: Record<string, string>): string => JSON.stringify(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : 1)));
const itemKey = (g: { meterCode: string; ruleSetKey: string; component: string; dimensions: Record<string, string> }) =>
  `${g.meterCode}:${g.ruleSetKey}:${g.component}:${dimsKey(g.dimensions)}`;

function describe(input: UsageItemsInput, g: { meterCode: string; ruleSetKey: string; component: string; dimensions: Record<string, string> }, rs: CompiledRuleSet | undefined): string {
  const charge = input.charges.find((c) => c.meterCode === g.meterCode && c.ruleSetKey === g.ruleSetKey) ?? input.charges.find((c) => c.meterCode === g.meterCode);
  const component = rs?.components.get(g.component)?.params.description ?? g.component;
  return `${charge?.displayName ?? charge?.meterName ?? g.meterCode}: ${component}${dimsText(g.dimensions)}`;
}

const base = (period: Period, kind: LineKind, key: string, description: string, meterCode: string | null, dimensions: Record<string, string> | null) => ({
  kind,
  key,
  periodStart: period.start,
  periodEnd: period.end,
  description,
  meterCode,
  dimensions,
  taxable: kind !== LineKind.ALLOWANCE,
  tiers: [] as TierLine[],
  details: {} as Record<string, unknown>,
});

/** The product of the adjustments a line got, by id, in its rule-set version. */
function factorOf(rs: CompiledRuleSet, ids: string[]): Decimal {
  let factor = ONE;
  for (const id of ids) {
    for (const rule of rs.definition.rules) {
      if (rule.event.type === 'adjustment' && rule.event.params.id === id) factor = factor.times(rs.adjustmentFactor(rule.event.params));
    }
  }
  return factor;
}

/** USAGE lines (one per meter, rule set, component and presented dimensions) and ALLOWANCE lines. */
function usageLines(input: UsageItemsInput): BillingItem[] {
  const items = new Map<string, BillingItem & { included: Decimal; free: Decimal; tierMap: Map<string, TierLine & { q: Decimal; a: Decimal }> }>();
  for (const g of input.groups) {
    const key = itemKey(g);
    const rs = input.rules.version(g.ruleSetKey, g.ruleSetVersion);
    let item = items.get(key);
    if (!item) {
      item = { ...base(input.period, LineKind.USAGE, `usage:${key}`, describe(input, g, rs), g.meterCode, g.dimensions), quantity: ZERO, amount: ZERO, included: ZERO, free: ZERO, tierMap: new Map() };
      item.details = { component: g.component, ruleSet: g.ruleSetKey, events: 0, versions: [] as number[] };
      items.set(key, item);
    }
    item.quantity = item.quantity!.plus(g.quantity);
    item.amount = item.amount.plus(g.amount);
    item.details.events = (item.details.events as number) + g.events;
    const versions = item.details.versions as number[];
    if (!versions.includes(g.ruleSetVersion)) versions.push(g.ruleSetVersion);
    const free = rs?.components.get(g.component)?.freeUnits ?? ZERO;
    if (free.greaterThan(0) && g.counterKey) {
      item.included = item.included.plus(g.counted.minus(g.quantity));
      item.free = free;
    }
    for (const t of g.tiers) {
      const tk = `${t.tier}:${t.unitPrice.toFixed()}`;
      const prior = item.tierMap.get(tk);
      if (prior) {
        prior.q = prior.q.plus(t.quantity);
        prior.a = prior.a.plus(t.amount);
      } else {
        item.tierMap.set(tk, { tier: t.tier, unitPrice: formatDecimal(t.unitPrice), flatFee: '0', quantity: '', amount: '', q: t.quantity, a: t.amount });
      }
      if (!t.flatFee.isZero()) item.tierMap.get(tk)!.flatFee = formatDecimal(t.flatFee);
    }
  }
  const out: BillingItem[] = [];
  for (const [key, { included, free, tierMap, ...item }] of items) {
    item.tiers = [...tierMap.values()].sort((a, b) => a.tier - b.tier).map(({ q, a, ...t }) => ({ ...t, quantity: formatDecimal(q), amount: formatDecimal(a) }));
    out.push(item);
    if (included.greaterThan(0)) {
      const name = item.description;
      out.push({ ...base(input.period, LineKind.ALLOWANCE, `included:${key}`, `${name}: included allowance used, ${formatDecimal(included)} of ${formatDecimal(free)}`, item.meterCode, item.dimensions), quantity: included, amount: ZERO });
    }
  }
  return out;
}

/**
 * Volume charges are provisional per event (each event at the price of the tier the period had
 * reached). The period total decides: every unit at its tier's price, plus that tier's flat fee
 * once per counter. The true-up is the difference from what was charged.
 */
function volumeTrueUps(input: UsageItemsInput): BillingItem[] {
  const counted = new Map<string, Decimal>();
  for (const g of input.groups) {
    if (!g.counterKey) continue;
    const k = `${g.ruleSetKey}|${g.counterKey}`;
    counted.set(k, (counted.get(k) ?? ZERO).plus(g.counted));
  }
  const byItem = new Map<string, BillingItem>();
  const fees = new Map<string, BillingItem>();
  for (const g of input.groups) {
    if (!g.provisional || !g.counterKey) continue;
    const rs = input.rules.version(g.ruleSetKey, g.ruleSetVersion);
    const component = rs?.components.get(g.component);
    const charge = component?.charge;
    if (!rs || !component || charge?.kind !== 'cumulative' || !charge.tierAt) continue;
    const total = Decimal.max(ZERO, counted.get(`${g.ruleSetKey}|${g.counterKey}`)!.minus(component.freeUnits));
    const tier = charge.tierAt(total);
    const exact = g.quantity.times(tier.unitPrice).times(factorOf(rs, g.adjustments));
    const key = itemKey(g);
    let item = byItem.get(key);
    if (!item) {
      item = {
        ...base(input.period, LineKind.TRUE_UP, `true-up:${key}`, `${describe(input, g, rs)}: volume true-up, period total ${formatDecimal(total)} in tier ${tier.tier}`, g.meterCode, g.dimensions),
        quantity: ZERO,
        amount: ZERO,
      };
      item.details = { ruleSet: g.ruleSetKey, component: g.component, tier: tier.tier, unitPrice: formatDecimal(tier.unitPrice), periodTotal: formatDecimal(total) };
      byItem.set(key, item);
    }
    item.quantity = item.quantity!.plus(g.quantity);
    item.amount = item.amount.plus(exact.minus(g.amount));
    const feeKey = `${g.ruleSetKey}|${g.component}|${g.counterKey}`;
    if (!tier.flatFee.isZero() && !fees.has(feeKey)) {
      fees.set(feeKey, {
        ...base(input.period, LineKind.TRUE_UP, `tier-fee:${feeKey}`, `${describe(input, { ...g, dimensions: {} }, rs)}: tier ${tier.tier} flat fee`, g.meterCode, null),
        quantity: null,
        amount: tier.flatFee,
        details: { ruleSet: g.ruleSetKey, component: g.component, tier: tier.tier },
      });
    }
  }
  return [...byItem.values(), ...fees.values()];
}

/** Charges whose flat fee is due even without usage (a first tier's flat fee), for charges with no usage. */
async function zeroUsageItems(input: UsageItemsInput): Promise<BillingItem[]> {
  const out: BillingItem[] = [];
  const at = new Date(input.period.end.getTime() - 1);
  for (const charge of input.charges) {
    if (input.groups.some((g) => g.meterCode === charge.meterCode && g.ruleSetKey === charge.ruleSetKey)) continue;
    const rs = input.rules.resolve(charge.ruleSetKey, at);
    if (!rs) continue;
    const rated = await rateAggregate(rs, {
      event: { meter: charge.meterCode, quantity: ZERO, timestamp: at, dimensions: {}, values: {} },
      customer: input.customer,
      plan: input.plan,
      events: 0,
    });
    for (const line of rated.lines) {
      if (!line.amount || line.amount.isZero()) continue;
      const g = { meterCode: charge.meterCode, ruleSetKey: charge.ruleSetKey, component: line.componentId, dimensions: {} };
      const item: BillingItem = { ...base(input.period, LineKind.USAGE, `usage:${itemKey(g)}`, `${describe(input, g, rs)}: due at zero usage`, charge.meterCode, {}), quantity: ZERO, amount: line.amount };
      item.tiers = line.tiers.map((t) => ({ tier: t.tier, quantity: formatDecimal(t.quantity), unitPrice: formatDecimal(t.unitPrice), flatFee: formatDecimal(t.flatFee), amount: formatDecimal(t.amount) }));
      item.details = { component: line.componentId, ruleSet: rs.ref.key, versions: [rs.ref.version], events: 0 };
      out.push(item);
    }
  }
  return out;
}

/** Minimum spend of each rule set (in force at the period's end): the shortfall of its charges. */
function minimumSpend(input: UsageItemsInput, charged: BillingItem[]): BillingItem[] {
  const out: BillingItem[] = [];
  const at = new Date(input.period.end.getTime() - 1);
  for (const key of new Set(input.charges.map((c) => c.ruleSetKey))) {
    const rs = input.rules.resolve(key, at);
    if (!rs?.minimumSpend) continue;
    const spent = charged.filter((i) => i.details.ruleSet === key).reduce((s, i) => s.plus(i.amount), ZERO);
    if (spent.greaterThanOrEqualTo(rs.minimumSpend)) continue;
    out.push({
      ...base(input.period, LineKind.MINIMUM, `minimum:${key}`, `Minimum spend of ${formatDecimal(rs.minimumSpend)} (${rs.ref.key} v${rs.ref.version}): shortfall`, null, null),
      quantity: null,
      amount: rs.minimumSpend.minus(spent),
      details: { ruleSet: key, minimum: formatDecimal(rs.minimumSpend), spent: formatDecimal(spent) },
    });
  }
  return out;
}

/** Everything a period's usage owes: usage lines with tiers, allowances, true-ups, zero-usage fees, minimums. */
export async function usageItems(input: UsageItemsInput): Promise<BillingItem[]> {
  const lines = usageLines(input);
  const trueUps = volumeTrueUps(input);
  const zero = await zeroUsageItems(input);
  const charged = [...lines, ...trueUps, ...zero].filter((i) => i.kind !== LineKind.ALLOWANCE);
  return [...lines, ...trueUps, ...zero, ...minimumSpend(input, charged)];
}
