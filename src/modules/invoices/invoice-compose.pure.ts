import { Decimal, formatDecimal, RoundingMode, type RoundingModeName } from '../../shared/money/decimal.js';
import { LineKind, type Billed, type BillingItem, type InvoiceTotals, type TaxRateSnapshot } from './invoice.record.js';

const ZERO = new Decimal(0);
const HUNDRED = new Decimal(100);

/** A line ready to store: the item, or what changed since earlier invoices billed it. */
export interface ComposedLine extends Omit<BillingItem, 'amount' | 'rounded'> {
  precise: Decimal;
  rounded: Decimal;
}

export interface ComposeOptions {
  /** Minor-unit exponent of the invoice currency: the one rounding step. */
  exponent: number;
  rounding: RoundingModeName;
  taxRate: TaxRateSnapshot | null;
}

/** Rounds an amount once, to the currency's exponent, with the configured mode. */
export const roundMoney = (amount: Decimal, o: Pick<ComposeOptions, 'exponent' | 'rounding'>): Decimal => amount.toDecimalPlaces(o.exponent, RoundingMode[o.rounding]);

export const billedKey = (periodStart: Date, key: string): string => `${periodStart.toISOString()}|${key}`;

const optional = new Set<LineKind>([LineKind.BASE_FEE, LineKind.TRUE_UP, LineKind.MINIMUM, LineKind.PREPAID]);

/**
 * The lines of an invoice. An item nobody billed yet becomes a line as it is (rounded once); an
 * item billed before becomes the difference, with the rounded figure taken as round(now) minus
 * what was billed rounded, so rounded amounts telescope across invoices to round(final). A
 * billed key with no item now (`orphans`) is credited back.
 */
export function composeLines(items: BillingItem[], billed: Map<string, Billed & { description: string; kind: LineKind; periodEnd: Date }>, orphans: string[], o: ComposeOptions): ComposedLine[] {
  const lines: ComposedLine[] = [];
  for (const item of items) {
    const rounded = item.rounded ?? roundMoney(item.amount, o);
    const before = billed.get(billedKey(item.periodStart, item.key));
    const { amount, rounded: _derived, ...rest } = item;
    if (!before) {
      if (amount.isZero() && rounded.isZero() && optional.has(item.kind)) continue;
      lines.push({ ...rest, precise: amount, rounded });
      continue;
    }
    const precise = amount.minus(before.amount);
    const diff = rounded.minus(before.rounded);
    if (precise.isZero() && diff.isZero()) continue;
    lines.push({
      ...rest,
      description: `Change since ${before.invoices.join(', ')}: ${item.description}`,
      quantity: item.quantity && before.quantity ? item.quantity.minus(before.quantity) : item.quantity,
      precise,
      rounded: diff,
      details: { ...item.details, billedBefore: formatDecimal(before.rounded), nowDue: formatDecimal(rounded) },
    });
  }
  for (const k of orphans) {
    const before = billed.get(k)!;
    if (before.amount.isZero() && before.rounded.isZero()) continue;
    const [start, ...key] = k.split('|');
    lines.push({
      kind: before.kind,
      key: key.join('|'),
      periodStart: new Date(start!),
      periodEnd: before.periodEnd,
      description: `No longer due, billed on ${before.invoices.join(', ')}: ${before.description}`,
      meterCode: null,
      dimensions: null,
      quantity: before.quantity && before.quantity.negated(),
      precise: before.amount.negated(),
      rounded: before.rounded.negated(),
      taxable: before.kind !== LineKind.PREPAID,
      tiers: [],
      adjustments: [],
      details: {},
    });
  }
  return lines;
}

/**
 * Totals. Tax applies to the taxable lines' rounded sum and is rounded once: exclusive rates add
 * it; inclusive rates show the tax the total already holds (total − total / (1 + rate)).
 * Prepaid lines (wallet and credits) are payments: they reduce the amount due, not the tax.
 */
export function invoiceTotals(lines: ComposedLine[], o: ComposeOptions): InvoiceTotals {
  const sum = (pick: (l: ComposedLine) => Decimal, f: (l: ComposedLine) => boolean) => lines.filter(f).reduce((s, l) => s.plus(pick(l)), ZERO);
  const isPrepaid = (l: ComposedLine) => l.kind === LineKind.PREPAID;
  const subtotal = sum((l) => l.rounded, (l) => !isPrepaid(l));
  const subtotalPrecise = sum((l) => l.precise, (l) => !isPrepaid(l));
  const taxable = sum((l) => l.rounded, (l) => l.taxable && !isPrepaid(l));
  const taxablePrecise = sum((l) => l.precise, (l) => l.taxable && !isPrepaid(l));
  const prepaid = sum((l) => l.rounded, isPrepaid);
  const prepaidPrecise = sum((l) => l.precise, isPrepaid);
  let taxPrecise = ZERO;
  if (o.taxRate) {
    const rate = new Decimal(o.taxRate.percent).div(HUNDRED);
    taxPrecise = o.taxRate.inclusive ? taxablePrecise.minus(taxablePrecise.div(rate.plus(1))) : taxablePrecise.times(rate);
  }
  let tax = ZERO;
  if (o.taxRate) {
    const rate = new Decimal(o.taxRate.percent).div(HUNDRED);
    tax = roundMoney(o.taxRate.inclusive ? taxable.minus(taxable.div(rate.plus(1))) : taxable.times(rate), o);
  }
  const inclusive = o.taxRate?.inclusive ?? false;
  const total = inclusive ? subtotal : subtotal.plus(tax);
  const totalPrecise = inclusive ? subtotalPrecise : subtotalPrecise.plus(taxPrecise);
  const f = formatDecimal;
  const m = (x: Decimal) => x.toFixed(o.exponent);
  return {
    subtotal: m(subtotal),
    tax: m(tax),
    total: m(total),
    prepaid: m(prepaid),
    amountDue: m(total.plus(prepaid)),
    precise: { subtotal: f(subtotalPrecise), tax: f(taxPrecise), total: f(totalPrecise), prepaid: f(prepaidPrecise), amountDue: f(totalPrecise.plus(prepaidPrecise)) },
  };
}
