import { rateAggregate } from '../../rating/rate-aggregate.js';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import { LineKind, type BillingItem, type TierLine } from './invoice.record.js';
import { latestTrueUps, recurringTrueUps, volumeTrueUps } from './true-ups.pure.js';
import { AdjustmentTally, aggregationOf, describe, itemKey, lineBase, type UsageGroup, type UsageItemsInput } from './usage-item-parts.pure.js';
import type { CompiledRuleSet } from '../../rating/compile.js';

export type { ChargeInfo, LatestValue, LevelSet, MeterLevels, RuleSetLookup, UsageGroup, UsageItemsInput } from './usage-item-parts.pure.js';

const ZERO = new Decimal(0);
const ONE = new Decimal(1);

type WorkingItem = BillingItem & {
  included: Decimal;
  free: Decimal;
  tierMap: Map<string, TierLine & { q: Decimal; a: Decimal }>;
  tally: AdjustmentTally;
  /** A charge's maximumSpend, and what each of its counters was charged before adjustments. */
  cap: { maximum: Decimal; spent: Map<string, Decimal> } | null;
};

/** A per-unit charge's price part, so its line shows quantity × price like a tiered one. */
function priceParts(g: UsageGroup, rs: CompiledRuleSet | undefined): UsageGroup['tiers'] {
  if (g.tiers.length > 0) return g.tiers;
  const charge = rs?.components.get(g.component)?.charge;
  if (charge?.kind !== 'cumulative' || charge.model !== 'per_unit' || g.quantity.isZero()) return [];
  const unitPrice = charge.piece(ZERO, ONE)!.slope;
  // A maximum spend cut the amount: quantity × price no longer makes it, so no part is shown.
  if (!unitPrice.times(g.quantity).equals(g.base)) return [];
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
        ...lineBase(input.period, LineKind.USAGE, `usage:${key}`, describe(input, g, rs), g.meterCode, g.dimensions),
        quantity: ZERO,
        amount: ZERO,
        included: ZERO,
        free: ZERO,
        tierMap: new Map(),
        tally: new AdjustmentTally(),
        cap: null,
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
    const maximum = rs?.components.get(g.component)?.params.maximumSpend;
    if (maximum !== undefined) {
      item.cap ??= { maximum: new Decimal(maximum), spent: new Map() };
      const counter = g.counterKey ?? '';
      item.cap.spent.set(counter, (item.cap.spent.get(counter) ?? ZERO).plus(g.base));
    }
    const free = rs?.components.get(g.component)?.freeUnits ?? ZERO;
    // A RECURRING meter's counter holds a level, not usage drawn from an allowance.
    if (free.greaterThan(0) && g.counterKey && aggregationOf(input, g.meterCode) !== 'RECURRING') {
      item.included = item.included.plus(g.counted.minus(g.quantity));
      item.free = free;
    }
    // A RECURRING meter's line is no quantity × price: its events were charged prorated rises.
    for (const t of aggregationOf(input, g.meterCode) === 'RECURRING' ? [] : priceParts(g, rs)) {
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
  for (const [key, { included, free, tierMap, tally, cap, ...item }] of items) {
    if (cap) {
      // The invoice shows a charge's cap, and says when its usage reached it.
      const reached = [...cap.spent.values()].some((spent) => spent.greaterThanOrEqualTo(cap.maximum));
      item.details.maximumSpend = formatDecimal(cap.maximum);
      item.details.maximumReached = reached;
      if (reached) item.description = `${item.description} (maximum spend of ${formatDecimal(cap.maximum)} reached)`;
    }
    item.tiers = [...tierMap.values()].sort((a, b) => a.tier - b.tier).map(({ q, a, ...t }) => ({ ...t, quantity: formatDecimal(q), amount: formatDecimal(a) }));
    item.adjustments = tally.lines();
    out.push(item);
    if (included.greaterThan(0)) {
      const name = item.description;
      out.push({ ...lineBase(input.period, LineKind.ALLOWANCE, `included:${key}`, `${name}: included allowance used, ${formatDecimal(included)} of ${formatDecimal(free)}`, item.meterCode, item.dimensions), quantity: included, amount: ZERO });
    }
  }
  return out;
}

/** Charges whose flat fee is due even without usage (a first tier's flat fee), for charges with no usage. */
async function zeroUsageItems(input: UsageItemsInput): Promise<BillingItem[]> {
  const out: BillingItem[] = [];
  const at = new Date(input.period.end.getTime() - 1);
  for (const charge of input.charges) {
    if (input.groups.some((g) => g.meterCode === charge.meterCode && g.ruleSetKey === charge.ruleSetKey)) continue;
    // A RECURRING meter's level, carried in or set, is billed by recurringTrueUps.
    if (charge.aggregation === 'RECURRING' && input.levels?.some((l) => l.meterCode === charge.meterCode)) continue;
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
      const item: BillingItem = { ...lineBase(input.period, LineKind.USAGE, `usage:${itemKey(g)}`, `${describe(input, g, rs)}: due at zero usage`, charge.meterCode, {}), quantity: ZERO, amount: line.amount };
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
      ...lineBase(input.period, LineKind.MINIMUM, `minimum:${key}`, `Minimum spend of ${formatDecimal(rs.minimumSpend)} (${rs.ref.key} v${rs.ref.version}): shortfall`, null, null),
      quantity: null,
      amount: rs.minimumSpend.minus(spent),
      rounded: Decimal.max(ZERO, input.round(rs.minimumSpend).minus(spentRounded)),
      details: { ruleSet: key, minimum: formatDecimal(rs.minimumSpend), spent: formatDecimal(spent) },
    });
  }
  return out;
}

/**
 * Maximum spend of each rule set (in force at the period's end), once its charges reach it: its
 * usage lines say so, and a TRUE_UP line takes back what true-ups (volume, LATEST) would add
 * beyond the cap (events past the cap were charged nothing, so it is usually zero, and then left
 * off). Its rounded figure is the cap less what the charges it covers round to, so the rule set's
 * lines add up to the cap exactly.
 */
function maximumSpend(input: UsageItemsInput, charged: BillingItem[]): BillingItem[] {
  const out: BillingItem[] = [];
  const at = new Date(input.period.end.getTime() - 1);
  for (const key of new Set(input.charges.map((c) => c.ruleSetKey))) {
    const rs = input.rules.resolve(key, at);
    if (!rs?.maximumSpend) continue;
    const own = charged.filter((i) => i.details.ruleSet === key);
    const spent = own.reduce((s, i) => s.plus(i.amount), ZERO);
    const spentRounded = own.reduce((s, i) => s.plus(i.rounded ?? input.round(i.amount)), ZERO);
    const cap = input.round(rs.maximumSpend);
    if (spentRounded.lessThan(cap)) continue;
    for (const item of own.filter((i) => i.kind === LineKind.USAGE)) {
      item.description = `${item.description} (maximum spend of ${formatDecimal(rs.maximumSpend)} for ${rs.ref.key} reached)`;
      item.details.ruleSetMaximumSpend = formatDecimal(rs.maximumSpend);
    }
    out.push({
      ...lineBase(input.period, LineKind.TRUE_UP, `maximum:${key}`, `Maximum spend of ${formatDecimal(rs.maximumSpend)} (${rs.ref.key} v${rs.ref.version}): reached`, null, null),
      quantity: null,
      amount: Decimal.min(ZERO, rs.maximumSpend.minus(spent)),
      rounded: cap.minus(spentRounded),
      details: { ruleSet: key, maximum: formatDecimal(rs.maximumSpend), spent: formatDecimal(spent) },
    });
  }
  return out;
}

/** Everything a period's usage owes: usage lines with tiers, allowances, true-ups, zero-usage fees, minimums. */
export async function usageItems(input: UsageItemsInput): Promise<BillingItem[]> {
  const lines = usageLines(input);
  const usage = new Map(lines.filter((l) => l.kind === LineKind.USAGE).map((l) => [l.key.slice('usage:'.length), l]));
  const trueUps = [...volumeTrueUps(input, usage), ...latestTrueUps(input, usage), ...(await recurringTrueUps(input, usage))];
  const zero = await zeroUsageItems(input);
  const charged = [...lines, ...trueUps, ...zero].filter((i) => i.kind !== LineKind.ALLOWANCE);
  return [...lines, ...trueUps, ...zero, ...maximumSpend(input, charged), ...minimumSpend(input, charged)];
}

