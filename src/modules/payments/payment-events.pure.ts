import { Decimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits, fromLedgerUnits } from '../../shared/money/units.js';
import type { InvoiceEventInvoice, PaymentEventPayment } from '../webhooks/webhook.record.js';
import type { PaymentRecord } from './payment.record.js';

/** Decimal places of a numeric column's text ("61.00": 2): invoice figures keep the currency's. */
export const scaleOf = (text: string): number => (text.includes('.') ? text.length - text.indexOf('.') - 1 : 0);

/** Ledger units as an amount at the given scale (exact: payments are whole minor units). */
export const atScale = (units: bigint, scale: number): string => fromLedgerUnits(units).toFixed(scale);

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/**
 * An invoice as webhook events carry it, from its row (numeric columns as text). amountDue is
 * what remains to be paid, as the API's Invoice.amountDue: nothing once PAID, else the billed
 * amount less what was received (net of refunds).
 */
export function invoiceEventOf(r: Record<string, any>): InvoiceEventInvoice {
  const scale = scaleOf(r.amount_due);
  const remaining = r.status === 'PAID' ? new Decimal(0) : new Decimal(r.amount_due).minus(fromLedgerUnits(r.amount_paid));
  return {
    id: r.id,
    customerId: r.customer_id,
    number: r.number,
    kind: r.kind,
    status: r.status,
    currency: r.currency,
    periodStart: new Date(r.period_start).toISOString(),
    periodEnd: new Date(r.period_end).toISOString(),
    subtotal: r.subtotal,
    tax: r.tax,
    total: r.total,
    prepaid: r.prepaid,
    amountDue: remaining.toFixed(scale),
    finalizedAt: iso(r.finalized_at),
    paidAt: iso(r.paid_at),
    paymentReference: r.payment_reference,
    voidedAt: iso(r.voided_at),
    voidReason: r.void_reason,
    correctsInvoiceId: r.corrects_invoice_id,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

/** A payment attempt as payment events carry it. */
export function paymentEventOf(p: PaymentRecord, nextAttemptAt: Date | null): PaymentEventPayment {
  return {
    id: p.id,
    amount: formatLedgerUnits(p.amount),
    currency: p.currency,
    attempt: p.attempt ?? 0,
    failureCode: null,
    failureMessage: p.failureReason,
    nextAttemptAt: iso(nextAttemptAt),
  };
}
