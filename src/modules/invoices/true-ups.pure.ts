import type { CompiledRuleSet } from '../../rating/compile.js';
import { rateAggregate } from '../../rating/rate-aggregate.js';
import { Decimal, formatDecimal, RoundingMode } from '../../shared/money/decimal.js';
import type { Period } from '../subscriptions/index.js';
import { LineKind, type BillingItem } from './invoice.record.js';
import {
  AdjustmentTally,
  aggregationOf,
  counterOf,
  derivedRounding,
  describe,
  factorOf,
  itemKey,
  lineBase,
  type LevelSet,
  type UsageGroup,
  type UsageItemsInput,
} from './usage-item-parts.pure.js';

const ZERO = new Decimal(0);
const ONE = new Decimal(1);

/**
 * Volume charges are provisional per event (each event at the price of the tier the period had
 * reached). The period total decides: every unit at its tier's price, plus that tier's flat fee
 * once per counter. The true-up is the difference from what was charged, rounded so that the
 * usage line and its true-up add up to the period's amount rounded once.
 */
export function volumeTrueUps(input: UsageItemsInput, usage: Map<string, BillingItem>): BillingItem[] {
  const counted = new Map<string, Decimal>();
  for (const g of input.groups) {
    if (!g.counterKey) continue;
    const k = `${g.ruleSetKey}|${g.counterKey}`;
    counted.set(k, (counted.get(k) ?? ZERO).plus(g.counted));
  }
  const byItem = new Map<string, BillingItem & { tally: AdjustmentTally }>();
  const fees = new Map<string, BillingItem>();
  for (const g of input.groups) {
    // LATEST and RECURRING meters are trued up to their own period figure (latestTrueUps, recurringTrueUps).
    const aggregation = aggregationOf(input, g.meterCode);
    if (!g.provisional || !g.counterKey || aggregation === 'LATEST' || aggregation === 'RECURRING') continue;
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
        ...lineBase(input.period, LineKind.TRUE_UP, `true-up:${key}`, `${describe(input, g, rs)}: volume true-up, period total ${formatDecimal(total)} in tier ${tier.tier}`, g.meterCode, g.dimensions),
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
        ...lineBase(input.period, LineKind.TRUE_UP, `tier-fee:${feeKey}`, `${describe(input, { ...g, dimensions: {} }, rs)}: tier ${tier.tier} flat fee`, g.meterCode, null),
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
export function latestTrueUps(input: UsageItemsInput, usage: Map<string, BillingItem>): BillingItem[] {
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
        ...lineBase(input.period, LineKind.TRUE_UP, `latest:${key}`, `${describe(input, whole ? first : { ...first, dimensions: {} }, rs)}: the period's last value`, first.meterCode, whole ? first.dimensions : null),
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

/** A charge component's whole-period price of a level: exact, before adjustments, and the adjustments it got. */
interface LevelPrice {
  amount: Decimal;
  base: Decimal;
  adjustments: string[];
}

/** The share of a period left from an instant on, (end − at) / (end − start), within [0, 1]. */
export function shareLeft(period: Period, at: Date): Decimal {
  const length = period.end.getTime() - period.start.getTime();
  if (length <= 0) return ONE;
  return Decimal.min(ONE, Decimal.max(ZERO, new Decimal(period.end.getTime() - at.getTime()).div(length)));
}

/**
 * The whole-period price of a level, per charge component of the rule set that measures the
 * quantity: the rules select for the event that set it, and each charge prices the level as a
 * period total (its total(level), free units and adjustments applied).
 */
async function priceOfLevel(input: UsageItemsInput, rs: CompiledRuleSet, meterCode: string, set: LevelSet): Promise<Map<string, LevelPrice>> {
  const rated = await rateAggregate(rs, {
    event: { meter: meterCode, quantity: set.level, timestamp: set.at, dimensions: set.dimensions, values: {} },
    customer: input.customer,
    plan: input.plan,
    events: 1,
  });
  const out = new Map<string, LevelPrice>();
  if (rated.refusal) return out;
  for (const l of rated.lines) {
    const charge = rs.components.get(l.componentId)?.charge;
    if (charge?.kind !== 'cumulative' || charge.measure !== 'quantity' || !l.amount || !l.base) continue;
    out.set(l.componentId, { amount: l.amount, base: l.base, adjustments: l.adjustments.map((a) => a.id) });
  }
  return out;
}

/**
 * RECURRING meters: the exact time-weighted amount of the levels held in the period, per charge
 * component, in the rule-set version in force at the period's end:
 *
 *   total(L0) × 1 + Σ (total(L_i) − total(L_i−1)) × (end − t_i) / (end − start)
 *
 * where L0 is the level carried in (charged for the whole period; none, when nothing was set
 * before the period) and L_i the levels set at t_i, in time order. That is the integral of the
 * price of the level held over the period. The usage line of the period's events keeps what they
 * were charged (each the rise for the rest of the period, a downgrade nothing) and shows the
 * time-weighted average level as its quantity (to 1e-9); a TRUE_UP line brings it to the exact
 * amount, negative when a downgrade is credited. When the usage line holds the component's events
 * whole, the two are rounded together (they add up to the exact amount rounded once). A level
 * carried in with no event in the period is billed on a usage line of its own, at the exact
 * amount.
 */
export async function recurringTrueUps(input: UsageItemsInput, usage: Map<string, BillingItem>): Promise<BillingItem[]> {
  const out: BillingItem[] = [];
  const at = new Date(input.period.end.getTime() - 1);
  for (const levels of input.levels ?? []) {
    const charge = input.charges.find((c) => c.meterCode === levels.meterCode && c.aggregation === 'RECURRING');
    const rs = charge && input.rules.resolve(charge.ruleSetKey, at);
    if (!charge || !rs) continue;
    const steps: Array<{ set: LevelSet; share: Decimal }> = [];
    if (levels.carried) steps.push({ set: levels.carried, share: ONE });
    for (const set of levels.changes) steps.push({ set, share: shareLeft(input.period, set.at) });
    if (steps.length === 0) continue;

    const exact = new Map<string, LevelPrice>();
    let before = new Map<string, LevelPrice>();
    let levelBefore = ZERO;
    let average = ZERO;
    for (const step of steps) {
      const now = await priceOfLevel(input, rs, levels.meterCode, step.set);
      for (const id of new Set([...before.keys(), ...now.keys()])) {
        const e = exact.get(id) ?? { amount: ZERO, base: ZERO, adjustments: [] };
        e.amount = e.amount.plus((now.get(id)?.amount ?? ZERO).minus(before.get(id)?.amount ?? ZERO).times(step.share));
        e.base = e.base.plus((now.get(id)?.base ?? ZERO).minus(before.get(id)?.base ?? ZERO).times(step.share));
        e.adjustments = now.get(id)?.adjustments ?? e.adjustments;
        exact.set(id, e);
      }
      average = average.plus(step.set.level.minus(levelBefore).times(step.share));
      before = now;
      levelBefore = step.set.level;
    }

    // Shown to the quantity scale of usage (1e-9), half up: a third of a month is no finite decimal.
    average = average.toDecimalPlaces(9, RoundingMode.HALF_UP);
    const levelDetails = {
      aggregation: 'RECURRING',
      carriedLevel: levels.carried ? formatDecimal(levels.carried.level) : null,
      levels: levels.changes.map((c) => ({ at: c.at.toISOString(), level: formatDecimal(c.level) })),
      averageLevel: formatDecimal(average),
    };
    for (const [component, e] of exact) {
      const own = { meterCode: levels.meterCode, ruleSetKey: charge.ruleSetKey, component, dimensions: {} as Record<string, string> };
      const groups = input.groups.filter((g) => g.meterCode === own.meterCode && g.ruleSetKey === own.ruleSetKey && g.component === component);
      const tally = new AdjustmentTally();
      if (groups.length === 0) {
        tally.add(rs, e.adjustments, e.base);
        out.push({
          ...lineBase(input.period, LineKind.USAGE, `usage:${itemKey(own)}`, `${describe(input, own, rs)}: level held`, own.meterCode, {}),
          quantity: average,
          amount: e.amount,
          adjustments: tally.lines(),
          details: { component, ruleSet: rs.ref.key, versions: [rs.ref.version], events: 0, ...levelDetails, periodAmount: formatDecimal(e.amount) },
        });
        continue;
      }
      const charged = groups.reduce((s, g) => s.plus(g.amount), ZERO);
      const chargedBase = groups.reduce((s, g) => s.plus(g.base), ZERO);
      const whole = new Set(groups.map(itemKey)).size === 1;
      const key = whole ? itemKey(groups[0]!) : itemKey(own);
      const line = whole ? usage.get(key) : undefined;
      if (line) {
        line.quantity = average;
        Object.assign(line.details, levelDetails);
      }
      tally.add(rs, e.adjustments, e.base.minus(chargedBase));
      const amount = e.amount.minus(charged);
      out.push({
        ...lineBase(input.period, LineKind.TRUE_UP, `recurring:${key}`, `${describe(input, whole ? groups[0]! : own, rs)}: time-weighted levels`, own.meterCode, whole ? groups[0]!.dimensions : null),
        quantity: null,
        amount,
        ...(line ? { rounded: derivedRounding(input, line, amount) } : {}),
        adjustments: tally.lines(),
        details: { ruleSet: rs.ref.key, component, ...levelDetails, periodAmount: formatDecimal(e.amount), charged: formatDecimal(charged) },
      });
    }
  }
  return out;
}
