import type { Decimal } from '../../shared/money/decimal.js';
import type { PostalAddress } from '../customers/billing-details.pure.js';

export const InvoiceKind = { PERIOD: 'PERIOD', OPENING: 'OPENING' } as const;
export type InvoiceKind = (typeof InvoiceKind)[keyof typeof InvoiceKind];

export const InvoiceStatus = { DRAFT: 'DRAFT', FINALIZED: 'FINALIZED', PAID: 'PAID', UNCOLLECTIBLE: 'UNCOLLECTIBLE', VOID: 'VOID' } as const;
export type InvoiceStatus = (typeof InvoiceStatus)[keyof typeof InvoiceStatus];

/** Where collecting an invoice stands (the payments module keeps it). */
export const InvoicePaymentStatus = {
  NONE: 'NONE',
  PENDING: 'PENDING',
  FAILED: 'FAILED',
  PARTIALLY_PAID: 'PARTIALLY_PAID',
  PAID: 'PAID',
  UNCOLLECTIBLE: 'UNCOLLECTIBLE',
  PARTIALLY_REFUNDED: 'PARTIALLY_REFUNDED',
  REFUNDED: 'REFUNDED',
} as const;
export type InvoicePaymentStatus = (typeof InvoicePaymentStatus)[keyof typeof InvoicePaymentStatus];

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

/** The seller as configured when the invoice was finalized (SELLER_*). */
export interface SellerSnapshot {
  name: string;
  /** One entry per printed line. */
  address: string[];
  taxId: string | null;
  email: string | null;
}

/** The customer as billed when the invoice was finalized: its billing details, or its name. */
export interface BuyerSnapshot {
  legalName: string;
  email: string | null;
  address: PostalAddress | null;
  taxId: string | null;
  externalId: string;
  /** The customer's time zone then: the invoice's dates are printed in it. */
  timeZone: string;
}

/** Another invoice named on this one: the one it corrects, or the one that corrects it. */
export interface InvoiceRef {
  id: string;
  number: string | null;
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
  /** Received less refunded, as a decimal of the currency unit (from ledger units). */
  amountPaid: string;
  amountRefunded: string;
  paymentStatus: InvoicePaymentStatus;
  paymentAttempts: number;
  nextPaymentAttemptAt: Date | null;
  uncollectibleAt: Date | null;
  voidedAt: Date | null;
  voidReason: string | null;
  correctsInvoiceId: string | null;
  /** The invoice this one corrects, with its number (read with the invoice; null from `headers`). */
  corrects: InvoiceRef | null;
  /** The invoice that corrects this voided one (read with the invoice; null from `headers`). */
  correctedBy: InvoiceRef | null;
  /** Set when finalized: who issued it and to whom, and when it falls due. */
  seller: SellerSnapshot | null;
  buyer: BuyerSnapshot | null;
  paymentTermsDays: number | null;
  dueAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  lines: InvoiceLineRecord[];
}
