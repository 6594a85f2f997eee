import { Decimal } from '../../shared/money/decimal.js';
import type { InvoiceRecord } from './invoice.record.js';

/** Decimal places of an invoice figure's text ("61.00": 2): figures stay at the currency's exponent. */
export const scaleOf = (text: string): number => (text.includes('.') ? text.length - text.indexOf('.') - 1 : 0);

/**
 * What remains to be paid, as the API's Invoice.amountDue, the invoice document and every invoice
 * webhook say it: nothing once PAID (a refund of a paid invoice does not make it due again), else
 * the billed amount (total + prepaid, the stored amount_due) less what was received net of
 * refunds; exact decimals at the invoice's scale, negative for a credit to the customer.
 */
export function amountRemaining(i: Pick<InvoiceRecord, 'status' | 'amountDue' | 'amountPaid'>): string {
  const scale = scaleOf(i.amountDue);
  return i.status === 'PAID' ? new Decimal(0).toFixed(scale) : new Decimal(i.amountDue).minus(i.amountPaid).toFixed(scale);
}

/** An amount of the invoice's currency (received, refunded) at the invoice's scale, as the API shows it. */
export const atInvoiceScale = (i: Pick<InvoiceRecord, 'amountDue'>, amount: string): string => new Decimal(amount).toFixed(scaleOf(i.amountDue));
