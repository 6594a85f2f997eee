import type { CompiledRuleSet } from '../../rating/compile.js';
import { rateAggregate } from '../../rating/rate-aggregate.js';
import type { AdjustmentParams, CustomerFacts, MeterAggregation, PlanFacts } from '../../rating/types.js';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import type { Period } from '../subscriptions/billing-period.js';
import { LineKind, type AdjustmentLine, type BillingItem, type TierLine } from './invoice.record.js';

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

export interface RuleSetLookup {
  version(key: string, version: number): CompiledRuleSet | undefined;
  resolve(key: string, at: Date): CompiledRuleSet | undefined;
}

export interface UsageItemsInput {
  period: Period;
  groups: UsageGroup[];
  latest: LatestValue[];
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
const itemKey = (g: { meterCode: string; ruleSetKey: string; component: string; dimensions: Record<string, string> }) =>
  `${g.meterCode}:${g.ruleSetKey}:${g.component}:${dimsKey(g.dimensions)}`;
const counterOf = (g: { ruleSetKey: string; component: string; counterKey: string | null }) => `${g.ruleSetKey}|${g.component}|${g.counterKey}`;

function describe(input: UsageItemsInput, g: { meterCode: string; ruleSetKey: string; component: string; dimensions: Record<string, string> }, rs: CompiledRuleSet | undefined): string {
  const charge = input.charges.find((c) => c.meterCode === g.meterCode && c.ruleSetKey === g.ruleSetKey) ?? input.charges.find((c) => c.meterCode === g.meterCode);
  const component = rs?.components.get(g.component)?.params.description ?? g.component;
  return `${charge?.displayName ?? charge?.meterName ?? g.meterCode}: ${component}${dimsText(g.dimensions)}`;
}

const aggregationOf = (input: UsageItemsInput, meterCode: string): MeterAggregation => input.charges.find((c) => c.meterCode === meterCode)?.aggregation ?? 'SUM';

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
  adjustments: [] as AdjustmentLine[],
  details: {} as Record<string, unknown>,
});

function adjustmentParams(rs: CompiledRuleSet, id: string): AdjustmentParams | undefined {
  for (const rule of rs.definition.rules) if (rule.event.type === 'adjustment' && rule.event.params.id === id) return rule.event.params;
  return undefined;
}

/** The product of the adjustments a line got, by id, in its rule-set version. */
function factorOf(rs: CompiledRuleSet, ids: string[]): Decimal {
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
class AdjustmentTally {
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

type WorkingItem = BillingItem & { included: Decimal; free: Decimal; tierMap: Map<string, TierLine & { q: Decimal; a: Decimal }>; tally: AdjustmentTally };

/** A per-unit charge's price part, so its line shows quantity × price like a tiered one. */
function priceParts(g: UsageGroup, rs: CompiledRuleSet | undefined): UsageGroup['tiers'] {
  if (g.tiers.length > 0) return g.tiers;
  const charge = rs?.components.get(g.component)?.charge;
  if (charge?.kind !== 'cumulative' || charge.model !== 'per_unit' || g.quantity.isZero()) return [];
  const unitPrice = charge.piece(ZERO, ONE)!.slope;
  return [{ tier: 1, unitPrice, flatFee: ZERO, quantity: g.quantity, amount: g.base }];
}

/** USAGE lines (one per meter, rule set, component and presented dimensions) and ALLOWANCE lines. */
function usageLines(input: UsageItemsInput): BillingItem[] {
  const items = new Map<string, WorkingItem>();
  for (const g of input.groups) {
    const key = itemKey(g);
    const rs = input.rules.version(g.ruleSetKey, g.ruleSetVersion);
    let item = items.get(key);
    if (!item) {
      item = {
        ...base(input.period, LineKind.USAGE, `usage:${key}`, describe(input, g, rs), g.meterCode, g.dimensions),
        quantity: ZERO,
        amount: ZERO,
        included: ZERO,
        free: ZERO,
        tierMap: new Map(),
        tally: new AdjustmentTally(),
      };
      item.details = { component: g.component, ruleSet: g.ruleSetKey, aggregation: aggregationOf(input, g.meterCode), events: 0, versions: [] as number[] };
      items.set(key, item);
    }
    item.quantity = item.quantity!.plus(g.quantity);
    item.amount = item.amount.plus(g.amount);
    item.tally.add(rs, g.adjustments, g.base);
    item.details.events = (item.details.events as number) + g.events;
    const versions = item.details.versions as number[];
    if (!versions.includes(g.ruleSetVersion)) versions.push(g.ruleSetVersion);
    const free = rs?.components.get(g.component)?.freeUnits ?? ZERO;
    if (free.greaterThan(0) && g.counterKey) {
      item.included = item.included.plus(g.counted.minus(g.quantity));
      item.free = free;
    }
    for (const t of priceParts(g, rs)) {
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
  for (const [key, { included, free, tierMap, tally, ...item }] of items) {
    item.tiers = [...tierMap.values()].sort((a, b) => a.tier - b.tier).map(({ q, a, ...t }) => ({ ...t, quantity: formatDecimal(q), amount: formatDecimal(a) }));
    item.adjustments = tally.lines();
    out.push(item);
    if (included.greaterThan(0)) {
      const name = item.description;
      out.push({ ...base(input.period, LineKind.ALLOWANCE, `included:${key}`, `${name}: included allowance used, ${formatDecimal(included)} of ${formatDecimal(free)}`, item.meterCode, item.dimensions), quantity: included, amount: ZERO });
    }
  }
  return out;
}

/** A true-up's rounded figure: what the usage line and the true-up round to together, less the usage line's own. */
function derivedRounding(input: UsageItemsInput, usage: BillingItem | undefined, trueUp: Decimal): Decimal {
  const own = usage ? usage.rounded ?? input.round(usage.amount) : ZERO;
  return input.round((usage?.amount ?? ZERO).plus(trueUp)).minus(own);
}

/**
 * Volume charges are provisional per event (each event at the price of the tier the period had
 * reached). The period total decides: every unit at its tier's price, plus that tier's flat fee
 * once per counter. The true-up is the difference from what was charged, rounded so that the
 * usage line and its true-up add up to the period's amount rounded once.
 */
function volumeTrueUps(input: UsageItemsInput, usage: Map<string, BillingItem>): BillingItem[] {
  const counted = new Map<string, Decimal>();
  for (const g of input.groups) {
    if (!g.counterKey) continue;
    const k = `${g.ruleSetKey}|${g.counterKey}`;
    counted.set(k, (counted.get(k) ?? ZERO).plus(g.counted));
  }
  const byItem = new Map<string, BillingItem & { tally: AdjustmentTally }>();
  const fees = new Map<string, BillingItem>();
  for (const g of input.groups) {
    if (!g.provisional || !g.counterKey || aggregationOf(input, g.meterCode) === 'LATEST') continue;
    const rs = input.rules.version(g.ruleSetKey, g.ruleSetVersion);
    const component = rs?.components.get(g.component);
    const charge = component?.charge;
    if (!rs || !component || charge?.kind !== 'cumulative' || !charge.tierAt) continue;
    const total = Decimal.max(ZERO, counted.get(`${g.ruleSetKey}|${g.counterKey}`)!.minus(component.freeUnits));
    const tier = charge.tierAt(total);
    const periodBase = g.quantity.times(tier.unitPrice);
    const key = itemKey(g);
    let item = byItem.get(key);
    if (!item) {
      item = {
        ...base(input.period, LineKind.TRUE_UP, `true-up:${key}`, `${describe(input, g, rs)}: volume true-up, period total ${formatDecimal(total)} in tier ${tier.tier}`, g.meterCode, g.dimensions),
        quantity: ZERO,
        amount: ZERO,
        tally: new AdjustmentTally(),
      };
      item.details = { ruleSet: g.ruleSetKey, component: g.component, tier: tier.tier, unitPrice: formatDecimal(tier.unitPrice), periodTotal: formatDecimal(total) };
      byItem.set(key, item);
    }
    item.quantity = item.quantity!.plus(g.quantity);
    item.amount = item.amount.plus(periodBase.times(factorOf(rs, g.adjustments)).minus(g.amount));
    item.tally.add(rs, g.adjustments, periodBase.minus(g.base));
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
  const out: BillingItem[] = [];
  for (const [key, { tally, ...item }] of byItem) {
    item.adjustments = tally.lines();
    item.rounded = derivedRounding(input, usage.get(key), item.amount);
    out.push(item);
  }
  return [...out, ...fees.values()];
}

/**
 * LATEST meters are charged per event for each rise of the period's highest value; the period
 * is billed at its last value. The true-up is the charge at the last value (in the version and
 * with the adjustments of the last event) less what the rises were charged, per counter. When a
 * usage line holds whole counters only, its true-up is rounded with it (the two add up to the
 * last value's amount rounded once); otherwise each counter's true-up is rounded on its own.
 */
function latestTrueUps(input: UsageItemsInput, usage: Map<string, BillingItem>): BillingItem[] {
  const byCounter = new Map<string, UsageGroup[]>();
  for (const g of input.groups) if (g.counterKey) byCounter.set(counterOf(g), [...(byCounter.get(counterOf(g)) ?? []), g]);
  const out = new Map<string, BillingItem & { tally: AdjustmentTally; whole: boolean }>();
  for (const last of input.latest) {
    const groups = byCounter.get(counterOf(last)) ?? [];
    const rs = input.rules.version(last.ruleSetKey, last.ruleSetVersion);
    const component = rs?.components.get(last.component);
    if (!rs || !component || component.charge.kind !== 'cumulative' || groups.length === 0) continue;
    const billable = Decimal.max(ZERO, last.value.minus(component.freeUnits));
    const periodBase = component.charge.total(billable).amount;
    const target = periodBase.times(factorOf(rs, last.adjustments));
    const charged = groups.reduce((s, g) => s.plus(g.amount), ZERO);
    const chargedBase = groups.reduce((s, g) => s.plus(g.base), ZERO);
    const quantity = groups.reduce((s, g) => s.plus(g.quantity), ZERO);
    const items = new Set(groups.map(itemKey));
    const whole = items.size === 1;
    const first = groups[0]!;
    const key = whole ? itemKey(first) : counterOf(last);
    let item = out.get(key);
    if (!item) {
      item = {
        ...base(input.period, LineKind.TRUE_UP, `latest:${key}`, `${describe(input, whole ? first : { ...first, dimensions: {} }, rs)}: the period's last value`, first.meterCode, whole ? first.dimensions : null),
        quantity: ZERO,
        amount: ZERO,
        tally: new AdjustmentTally(),
        whole,
      };
      item.details = { ruleSet: last.ruleSetKey, component: last.component, lastValues: [] as Array<{ counter: string; value: string; highest: string }> };
      out.set(key, item);
    }
    item.quantity = item.quantity!.plus(billable.minus(quantity));
    item.amount = item.amount.plus(target.minus(charged));
    item.tally.add(rs, last.adjustments, periodBase.minus(chargedBase));
    (item.details.lastValues as unknown[]).push({ counter: last.counterKey, value: formatDecimal(last.value), highest: formatDecimal(groups.reduce((s, g) => s.plus(g.counted), ZERO)) });
  }
  return [...out.entries()].map(([key, { tally, whole, ...item }]) => {
    item.adjustments = tally.lines();
    // A usage line that holds other counters besides whole ones still shares their rounding.
    if (whole && [...byCounter.values()].every((gs) => !gs.some((g) => itemKey(g) === key) || new Set(gs.map(itemKey)).size === 1)) {
      item.rounded = derivedRounding(input, usage.get(key), item.amount);
    }
    return item;
  });
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
      const tally = new AdjustmentTally();
      tally.add(rs, line.adjustments.map((a) => a.id), line.base!);
      item.adjustments = tally.lines();
      item.details = { component: line.componentId, ruleSet: rs.ref.key, versions: [rs.ref.version], events: 0 };
      out.push(item);
    }
  }
  return out;
}

/**
 * Minimum spend of each rule set (in force at the period's end): the shortfall of its charges.
 * Its rounded figure is the minimum less what the charges it covers round to, so the rule set's
 * lines add up to the minimum exactly.
 */
function minimumSpend(input: UsageItemsInput, charged: BillingItem[]): BillingItem[] {
  const out: BillingItem[] = [];
  const at = new Date(input.period.end.getTime() - 1);
  for (const key of new Set(input.charges.map((c) => c.ruleSetKey))) {
    const rs = input.rules.resolve(key, at);
    if (!rs?.minimumSpend) continue;
    const own = charged.filter((i) => i.details.ruleSet === key);
    const spent = own.reduce((s, i) => s.plus(i.amount), ZERO);
    if (spent.greaterThanOrEqualTo(rs.minimumSpend)) continue;
    const spentRounded = own.reduce((s, i) => s.plus(i.rounded ?? input.round(i.amount)), ZERO);
    out.push({
      ...base(input.period, LineKind.MINIMUM, `minimum:${key}`, `Minimum spend of ${formatDecimal(rs.minimumSpend)} (${rs.ref.key} v${rs.ref.version}): shortfall`, null, null),
      quantity: null,
      amount: rs.minimumSpend.minus(spent),
      rounded: Decimal.max(ZERO, input.round(rs.minimumSpend).minus(spentRounded)),
      details: { ruleSet: key, minimum: formatDecimal(rs.minimumSpend), spent: formatDecimal(spent) },
    });
  }
  return out;
}

/** Everything a period's usage owes: usage lines with tiers, allowances, true-ups, zero-usage fees, minimums. */
export async function usageItems(input: UsageItemsInput): Promise<BillingItem[]> {
  const lines = usageLines(input);
  const usage = new Map(lines.filter((l) => l.kind === LineKind.USAGE).map((l) => [l.key.slice('usage:'.length), l]));
  const trueUps = [...volumeTrueUps(input, usage), ...latestTrueUps(input, usage)];
  const zero = await zeroUsageItems(input);
  const charged = [...lines, ...trueUps, ...zero].filter((i) => i.kind !== LineKind.ALLOWANCE);
  return [...lines, ...trueUps, ...zero, ...minimumSpend(input, charged)];
}

/** What wallets paid for a period's events as they happened, in ledger units (1e-9). */
export interface PeriodPayments {
  /** By credit-block kind. */
  paid: Array<{ kind: 'MAIN' | 'GRANT'; units: bigint }>;
  /** What the period's events were charged in all, paid or not. */
  charged: bigint;
}

/**
 * PREPAID lines: what wallets paid for the period's usage, as negative payments. Their exact
 * amount is what left the wallets; their rounded figure is the share of the rounded usage lines
 * that wallets paid, round(U × paid / charged), where U is the sum of the rounded USAGE lines of
 * events. So usage paid in full from a wallet nets to exactly zero, and a prepaid customer owes
 * exactly the rest (fees, true-ups, minimums). Credits (GRANT) are rounded first; the wallet's
 * balance (MAIN) takes the remainder, so the lines add up to the rounded share.
 */
export function prepaidItems(period: Period, items: BillingItem[], payments: PeriodPayments, round: (amount: Decimal) => Decimal): BillingItem[] {
  const paid = payments.paid.filter((p) => p.units !== 0n);
  if (paid.length === 0 || payments.charged <= 0n) return [];
  const usageRounded = items
    .filter((i) => i.kind === LineKind.USAGE && (i.details.events as number) > 0)
    .reduce((s, i) => s.plus(i.rounded ?? round(i.amount)), ZERO);
  const share = (units: bigint) => round(usageRounded.times(units.toString()).div(payments.charged.toString()));
  const total = share(paid.reduce((s, p) => s + p.units, 0n));
  const grant = paid.find((p) => p.kind === 'GRANT');
  const grantRounded = grant ? share(grant.units) : ZERO;
  return paid.map((p) => ({
    kind: LineKind.PREPAID,
    key: `prepaid:${p.kind}`,
    periodStart: period.start,
    periodEnd: period.end,
    description: p.kind === 'MAIN' ? 'Paid from the prepaid wallet balance as usage happened' : 'Paid with granted credits as usage happened',
    meterCode: null,
    dimensions: null,
    quantity: null,
    amount: new Decimal(p.units.toString()).div(1e9).negated(),
    rounded: (p.kind === 'GRANT' ? grantRounded : total.minus(grantRounded)).negated(),
    taxable: false,
    tiers: [],
    adjustments: [],
    details: { ledgerUnits: p.units.toString(), usageCharged: payments.charged.toString(), usageLinesRounded: usageRounded.toFixed() },
  }));
}
