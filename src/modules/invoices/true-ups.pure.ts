import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import { LineKind, type BillingItem } from './invoice.record.js';
import { AdjustmentTally, aggregationOf, counterOf, derivedRounding, describe, factorOf, itemKey, lineBase, type UsageGroup, type UsageItemsInput } from './usage-item-parts.pure.js';

const ZERO = new Decimal(0);

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

