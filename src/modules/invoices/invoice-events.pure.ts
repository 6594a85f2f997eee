import { webhookEventId, WebhookTopic, type InvoiceEventInvoice, type WebhookEmission } from '../webhooks/webhook.record.js';
import type { InvoiceRecord } from './invoice.record.js';

export type InvoiceTopic = typeof WebhookTopic.INVOICE_CREATED | typeof WebhookTopic.INVOICE_FINALIZED | typeof WebhookTopic.INVOICE_PAID | typeof WebhookTopic.INVOICE_VOIDED;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** An invoice's header as invoice webhooks carry it: amounts as the decimal strings stored. */
export function invoiceEventInvoice(i: InvoiceRecord): InvoiceEventInvoice {
  return {
    id: i.id,
    customerId: i.customerId,
    number: i.number,
    kind: i.kind,
    status: i.status,
    currency: i.currency,
    periodStart: i.periodStart.toISOString(),
    periodEnd: i.periodEnd.toISOString(),
    subtotal: i.subtotal,
    tax: i.tax,
    total: i.total,
    prepaid: i.prepaid,
    amountDue: i.amountDue,
    finalizedAt: iso(i.finalizedAt),
    paidAt: iso(i.paidAt),
    paymentReference: i.paymentReference,
    voidedAt: iso(i.voidedAt),
    voidReason: i.voidReason,
    correctsInvoiceId: i.correctsInvoiceId,
    createdAt: i.createdAt.toISOString(),
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
