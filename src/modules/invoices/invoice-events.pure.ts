import { webhookEventId, WebhookTopic, type InvoiceEventInvoice, type WebhookEmission } from '../webhooks/webhook.record.js';
import { amountRemaining, atInvoiceScale } from './invoice-amounts.pure.js';
import type { InvoiceRecord } from './invoice.record.js';

export type InvoiceTopic = typeof WebhookTopic.INVOICE_CREATED | typeof WebhookTopic.INVOICE_FINALIZED | typeof WebhookTopic.INVOICE_PAID | typeof WebhookTopic.INVOICE_VOIDED;

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

/**
 * An invoice's header as every invoice webhook carries it (the invoices module's and the
 * payments module's topics alike: this is the one builder), from the invoice as the change's
 * transaction sees it. Its figures mean what the API's Invoice says: amountDue is what remains
 * to be paid (amountRemaining), amountPaid what was received net of refunds, both at the
 * currency's exponent; the other amounts are the decimal strings stored.
 */
export function invoiceEventInvoice(i: InvoiceRecord): InvoiceEventInvoice {
  return {
    id: i.id,
    customerId: i.customerId,
    number: i.number,
    kind: i.kind,
    status: i.status,
    currency: i.currency,
    periodStart: iso(i.periodStart)!,
    periodEnd: iso(i.periodEnd)!,
    subtotal: i.subtotal,
    tax: i.tax,
    total: i.total,
    prepaid: i.prepaid,
    amountDue: amountRemaining(i),
    amountPaid: atInvoiceScale(i, i.amountPaid),
    paymentStatus: i.paymentStatus,
    dueAt: iso(i.dueAt),
    finalizedAt: iso(i.finalizedAt),
    paidAt: iso(i.paidAt),
    paymentReference: i.paymentReference,
    voidedAt: iso(i.voidedAt),
    voidReason: i.voidReason,
    correctsInvoiceId: i.correctsInvoiceId,
    createdAt: iso(i.createdAt)!,
  };
}

/**
 * The webhook announcing `topic` of an invoice as it is after the change. Its id comes from the
 * topic and the invoice, so each invoice is created, finalized, paid and voided once, announced
 * once however often its transaction runs.
 */
export function invoiceEvent(topic: InvoiceTopic, invoice: InvoiceRecord, at: Date): WebhookEmission {
  return { topic, eventId: webhookEventId(topic, invoice.id), data: { invoice: invoiceEventInvoice(invoice) }, at };
}
