import type { SqlClient } from '../../db/sql.js';
import { invoiceEventInvoice, type InvoiceRepository } from '../invoices/index.js';
import { emitWebhook, webhookEventId, WebhookTopic, type WebhookEmission } from '../webhooks/index.js';
import type { Collected } from './collection.pure.js';
import { paymentEventOf } from './payment-events.pure.js';
import { DunningPolicy, PaymentStatus, type CollectedInvoice, type PaymentRecord } from './payment.record.js';
import type { PaymentRepository } from './payment.repository.js';

/** A customer suspended or reinstated, told after the commit that did it. */
export interface StandingChange {
  customerId: string;
  externalId: string;
  suspended: boolean;
  /** Why it is suspended; null once reinstated. */
  reason: string | null;
  /** The suspension's time, or the reinstatement's. */
  at: Date;
}

/** Writes one webhook event in the transaction of the change it announces. */
export type Emit = (e: Omit<WebhookEmission, 'at'>) => Promise<void>;

/** What a collection step did besides the invoice: events written, a customer's standing changed. */
export interface Effects {
  announced: boolean;
  standing: StandingChange | null;
}

/**
 * What follows a collection step, in its transaction: the webhook events (a failed attempt,
 * an invoice paid or uncollectible, a customer suspended or reinstated) and the suspension
 * itself, under the customer's row lock (after the invoice's, as every path takes them). And
 * after the commit: the listeners (the usage path's customer cache, live pushes, the webhook
 * worker).
 */
export class PaymentEffects {
  readonly standingListeners: Array<(change: StandingChange) => void> = [];
  readonly announcedListeners: Array<() => void> = [];
  /** Other reasons a customer stays suspended (a failed auto-recharge whose wallet suspends), counted in the transaction. */
  readonly suspensionCauses: Array<(client: SqlClient, customerId: string) => Promise<number>> = [];

  constructor(
    private readonly repo: PaymentRepository,
    /** Reads the invoice as the transaction sees it, for the events (on the write pool). */
    private readonly invoices: InvoiceRepository,
  ) {}

  /**
   * Event ids come from the topic and what is announced (webhookEventId): a failed attempt's
   * payment; the invoice paid or given up (each happens once to an invoice); the invoice a
   * suspension is for; the payment (or invoice) a reinstatement came with.
   */
  async after(client: SqlClient, inv: CollectedInvoice, collected: Collected, payment: PaymentRecord | null, now: Date): Promise<Effects> {
    const out: Effects = { announced: false, standing: null };
    const emit: Emit = async (e) => {
      await emitWebhook(client, { ...e, at: now } as WebhookEmission);
      out.announced = true;
    };
    // The invoice as this transaction left it, built as every invoice webhook is (invoiceEventInvoice).
    const invoice = async () => invoiceEventInvoice((await this.invoices.header(client, inv.id))!);
    if (payment?.status === PaymentStatus.FAILED) {
      const topic = WebhookTopic.INVOICE_PAYMENT_FAILED;
      await emit({ topic, eventId: webhookEventId(topic, payment.id), data: { invoice: await invoice(), payment: paymentEventOf(payment, collected.state.nextPaymentAttemptAt) } });
    }
    if (collected.paid) await emit({ topic: WebhookTopic.INVOICE_PAID, eventId: webhookEventId(WebhookTopic.INVOICE_PAID, inv.id), data: { invoice: await invoice() } });
    if (collected.uncollectible) {
      const reason = `no payment succeeded after ${collected.state.paymentAttempts} attempt${collected.state.paymentAttempts === 1 ? '' : 's'} and the last retry date`;
      await emit({ topic: WebhookTopic.INVOICE_UNCOLLECTIBLE, eventId: webhookEventId(WebhookTopic.INVOICE_UNCOLLECTIBLE, inv.id), data: { invoice: await invoice(), reason } });
      if (collected.state.dunning?.policy === DunningPolicy.SUSPEND) out.standing = await this.suspend(client, inv.customerId, `invoice ${inv.number ?? inv.id} is uncollectible`, inv.id, now, emit);
    }
    // Any invoice paid may be the last that kept the customer suspended.
    if (collected.paid) out.standing = await this.reinstate(client, inv.customerId, payment?.id ?? inv.id, now, emit);
    return out;
  }

  /** Tells the listeners what a committed transaction did. */
  committed(effects: Effects): void {
    if (effects.announced) for (const l of this.announcedListeners) l();
    if (effects.standing) for (const l of this.standingListeners) l(effects.standing);
  }

  /**
   * Suspends the customer, under its row lock, unless it already is: `subject` is what the
   * suspension is for (an invoice, a recharge), the event id's subject.
   */
  async suspend(client: SqlClient, customerId: string, reason: string, subject: string, now: Date, emit: Emit): Promise<StandingChange | null> {
    const customer = await this.repo.lockCustomer(client, customerId);
    if (customer.suspendedAt) return null;
    await this.repo.setSuspension(client, customer.id, now, reason, now);
    const topic = WebhookTopic.CUSTOMER_SUSPENDED;
    await emit({ topic, eventId: webhookEventId(topic, subject), data: { customer: { id: customer.id, externalId: customer.externalId }, reason, suspendedAt: now.toISOString() } });
    return { customerId: customer.id, externalId: customer.externalId, suspended: true, reason, at: now };
  }

  /** Reinstates at once when nothing that suspends is left: no uncollectible invoice of a suspending plan, nor any other cause. */
  async reinstate(client: SqlClient, customerId: string, by: string, now: Date, emit: Emit): Promise<StandingChange | null> {
    const customer = await this.repo.lockCustomer(client, customerId);
    if (!customer.suspendedAt || (await this.repo.suspendingInvoices(client, customerId)) > 0) return null;
    for (const cause of this.suspensionCauses) if ((await cause(client, customerId)) > 0) return null;
    await this.repo.setSuspension(client, customer.id, null, null, now);
    const topic = WebhookTopic.CUSTOMER_REINSTATED;
    await emit({ topic, eventId: webhookEventId(topic, by), data: { customer: { id: customer.id, externalId: customer.externalId }, reinstatedAt: now.toISOString() } });
    return { customerId: customer.id, externalId: customer.externalId, suspended: false, reason: null, at: now };
  }
}
