import { Decimal } from '../../shared/money/decimal.js';
import type { Period } from '../subscriptions/index.js';
import { LineKind, type BillingItem } from './invoice.record.js';

const ZERO = new Decimal(0);

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
