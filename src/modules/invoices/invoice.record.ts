import type { Decimal } from '../../shared/money/decimal.js';

export const InvoiceKind = { PERIOD: 'PERIOD', OPENING: 'OPENING' } as const;
export type InvoiceKind = (typeof InvoiceKind)[keyof typeof InvoiceKind];

export const InvoiceStatus = { DRAFT: 'DRAFT', FINALIZED: 'FINALIZED', PAID: 'PAID', VOID: 'VOID' } as const;
export type InvoiceStatus = (typeof InvoiceStatus)[keyof typeof InvoiceStatus];

/** What a line bills. PREPAID lines are payments already made (negative, not taxed). */
export const LineKind = {
  BASE_FEE: 'BASE_FEE',
  USAGE: 'USAGE',
  ALLOWANCE: 'ALLOWANCE',
  TRUE_UP: 'TRUE_UP',
  MINIMUM: 'MINIMUM',
  PREPAID: 'PREPAID',
} as const;
export type LineKind = (typeof LineKind)[keyof typeof LineKind];

export interface TierLine {
  tier: number;
  quantity: string;
  unitPrice: string;
  flatFee: string;
  amount: string;
}

/** What one markup, discount or multiplier added to a line (negative for a discount), exact. */
export interface AdjustmentLine {
  id: string;
  kind: 'markup' | 'discount' | 'multiplier';
  description: string | null;
  /** The percent of a markup or discount, or a multiplier's factor. */
  rate: string;
  amount: string;
}

/**
 * Something a billing period owes (or has paid), identified by its billing key within the
 * period. Invoices bill the difference between an item and what earlier invoices billed for
 * the same period and key, so a late event or a plan change adds only what changed.
 */
export interface BillingItem {
  kind: LineKind;
  key: string;
  periodStart: Date;
  periodEnd: Date;
  description: string;
  meterCode: string | null;
  dimensions: Record<string, string> | null;
  quantity: Decimal | null;
  /** Exact amount, never rounded. */
  amount: Decimal;
  /**
   * The line's rounded figure when it is derived rather than rounded on its own (true-ups,
   * minimums and prepaid lines, so that rounded figures add up); round(amount) otherwise.
   */
  rounded?: Decimal;
  taxable: boolean;
  tiers: TierLine[];
  /** Adjustments that changed the line: tiers plus these make its exact amount. */
  adjustments: AdjustmentLine[];
  details: Record<string, unknown>;
}

/** What finalized invoices already billed for one period and key. */
export interface Billed {
  amount: Decimal;
  rounded: Decimal;
  quantity: Decimal | null;
  invoices: string[];
}

export interface InvoiceLineRecord {
  id: string;
  position: number;
  kind: LineKind;
  billingKey: string;
  periodStart: Date;
  periodEnd: Date;
  description: string;
  meterCode: string | null;
  dimensions: Record<string, string> | null;
  quantity: string | null;
  /** Exact amount. */
  preciseAmount: string;
  /** Rounded once to the currency's exponent. */
  amount: string;
  taxable: boolean;
  tiers: TierLine[];
  adjustments: AdjustmentLine[];
  details: Record<string, unknown>;
}

export interface TaxRateSnapshot {
  code: string;
  name: string;
  percent: string;
  inclusive: boolean;
}

/** Invoice totals: rounded figures at the currency's exponent, with the exact ones in `precise`. */
export interface InvoiceTotals {
  subtotal: string;
  tax: string;
  total: string;
  prepaid: string;
  amountDue: string;
  precise: { subtotal: string; tax: string; total: string; prepaid: string; amountDue: string };
}

export interface InvoiceRecord extends InvoiceTotals {
  id: string;
  customerId: string;
  kind: InvoiceKind;
  status: InvoiceStatus;
  currency: string;
  periodStart: Date;
  periodEnd: Date;
  graceEndsAt: Date;
  number: string | null;
  taxRate: TaxRateSnapshot | null;
  /** Rule-set versions that priced the invoiced usage: key, version, content hash. */
  ruleSets: Array<{ key: string; version: number; hash: string }>;
  /** Committed usage events seen per period start (ISO), to tell when late events arrived. */
  usageSeen: Record<string, number>;
  rounding: string;
  proration: string;
  computedAt: Date;
  finalizedAt: Date | null;
  paidAt: Date | null;
  paymentReference: string | null;
  voidedAt: Date | null;
  voidReason: string | null;
  correctsInvoiceId: string | null;
  createdAt: Date;
  updatedAt: Date;
  lines: InvoiceLineRecord[];
}
