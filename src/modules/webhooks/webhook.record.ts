import { createHash } from 'node:crypto';

/**
 * What a webhook announces; the value is the body's `type`. The catalogue
 * (webhook-catalogue.pure.ts) describes each one and the JSON Schema of its `data`.
 */
export const WebhookTopic = {
  /** An alert crossed its threshold. */
  ALERT_TRIGGERED: 'alert.triggered',
  /** An auto top-up rule asks for money: the alert carries topUpAmount. */
  WALLET_TOP_UP_REQUESTED: 'wallet.top_up_requested',
  INVOICE_CREATED: 'invoice.created',
  INVOICE_FINALIZED: 'invoice.finalized',
  INVOICE_PAID: 'invoice.paid',
  INVOICE_PAYMENT_FAILED: 'invoice.payment_failed',
  INVOICE_VOIDED: 'invoice.voided',
  INVOICE_UNCOLLECTIBLE: 'invoice.uncollectible',
  WALLET_TOPPED_UP: 'wallet.topped_up',
  WALLET_RECHARGE_SUCCEEDED: 'wallet.recharge_succeeded',
  WALLET_RECHARGE_FAILED: 'wallet.recharge_failed',
  SUBSCRIPTION_CREATED: 'subscription.created',
  SUBSCRIPTION_CHANGED: 'subscription.changed',
  SUBSCRIPTION_CANCELED: 'subscription.canceled',
  CUSTOMER_SUSPENDED: 'customer.suspended',
  CUSTOMER_REINSTATED: 'customer.reinstated',
} as const;
export type WebhookTopic = (typeof WebhookTopic)[keyof typeof WebhookTopic];

export const WEBHOOK_TOPICS: readonly string[] = Object.values(WebhookTopic);

/** An instant in a payload: ISO 8601 in UTC. */
export type Iso = string;
/** An amount or quantity in a payload: a decimal string, never a JSON number. */
export type DecimalText = string;

/** An invoice as invoice events carry it: its header, without lines. */
export interface InvoiceEventInvoice {
  id: string;
  customerId: string;
  number: string | null;
  kind: 'PERIOD' | 'OPENING';
  status: 'DRAFT' | 'FINALIZED' | 'PAID' | 'VOID' | 'UNCOLLECTIBLE';
  currency: string;
  periodStart: Iso;
  periodEnd: Iso;
  subtotal: DecimalText;
  tax: DecimalText;
  total: DecimalText;
  prepaid: DecimalText;
  /** What remains to be paid, as the API's Invoice.amountDue. */
  amountDue: DecimalText;
  /** Received, less what was refunded. */
  amountPaid: DecimalText;
  paymentStatus: 'NONE' | 'PENDING' | 'FAILED' | 'PARTIALLY_PAID' | 'PAID' | 'UNCOLLECTIBLE' | 'PARTIALLY_REFUNDED' | 'REFUNDED';
  /** When it falls due; set when finalized. */
  dueAt: Iso | null;
  finalizedAt: Iso | null;
  paidAt: Iso | null;
  paymentReference: string | null;
  voidedAt: Iso | null;
  voidReason: string | null;
  correctsInvoiceId: string | null;
  createdAt: Iso;
}

/** A subscription as subscription events carry it. */
export interface SubscriptionEventSubscription {
  id: string;
  customerId: string;
  planCode: string;
  planVersion: number;
  status: 'ACTIVE' | 'CANCELED' | 'ENDED';
  startsAt: Iso;
  endsAt: Iso | null;
  trialEndsAt: Iso | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: Iso | null;
  replacesSubscriptionId: string | null;
}

/** A wallet as wallet events carry it: balance right after the event. */
export interface WalletEventWallet {
  id: string;
  customerId: string;
  currency: string;
  balance: DecimalText;
}

/** An alert as alert_json renders it (src/db/functions/alert_json.sql). */
export interface AlertEventAlert {
  id: string;
  definitionId: string;
  customerId: string;
  walletId: string | null;
  name: string;
  metric: string;
  meterCode: string | null;
  direction: 'BELOW' | 'ABOVE';
  level: number;
  threshold: DecimalText;
  value: DecimalText;
  periodStart: Iso | null;
  topUpAmount: DecimalText | null;
  createdAt: Iso;
}

/** A payment attempt as payment events carry it. */
export interface PaymentEventPayment {
  id: string;
  amount: DecimalText;
  currency: string;
  attempt: number;
  failureCode: string | null;
  failureMessage: string | null;
  nextAttemptAt: Iso | null;
}

/** The `data` of each topic; the catalogue holds the same shapes as JSON Schemas. */
export interface WebhookEventData {
  'alert.triggered': { alert: AlertEventAlert };
  'wallet.top_up_requested': { alert: AlertEventAlert };
  'invoice.created': { invoice: InvoiceEventInvoice };
  'invoice.finalized': { invoice: InvoiceEventInvoice };
  'invoice.paid': { invoice: InvoiceEventInvoice };
  'invoice.payment_failed': { invoice: InvoiceEventInvoice; payment: PaymentEventPayment };
  'invoice.voided': { invoice: InvoiceEventInvoice };
  'invoice.uncollectible': { invoice: InvoiceEventInvoice; reason: string | null };
  'wallet.topped_up': { wallet: WalletEventWallet; topUp: { entryId: string; amount: DecimalText; reference: string | null; description: string | null; createdAt: Iso } };
  'wallet.recharge_succeeded': { wallet: WalletEventWallet; recharge: { id: string; amount: DecimalText; entryId: string; paymentReference: string | null; createdAt: Iso } };
  'wallet.recharge_failed': { wallet: WalletEventWallet; recharge: { id: string; amount: DecimalText; failureCode: string | null; failureMessage: string | null; nextAttemptAt: Iso | null; createdAt: Iso } };
  'subscription.created': { subscription: SubscriptionEventSubscription };
  'subscription.changed': { subscription: SubscriptionEventSubscription; previous: SubscriptionEventSubscription; timing: 'IMMEDIATE' | 'PERIOD_END' };
  'subscription.canceled': { subscription: SubscriptionEventSubscription; timing: 'IMMEDIATE' | 'PERIOD_END' };
  'customer.suspended': { customer: { id: string; externalId: string }; reason: string; suspendedAt: Iso };
  'customer.reinstated': { customer: { id: string; externalId: string }; reinstatedAt: Iso };
}

/**
 * One event to announce, written in the transaction of the change it announces: `eventId` is the
 * body's `id` and the `webhook-id` header (see webhookEventId), `at` when the change happened (the
 * body's `timestamp`).
 */
export type WebhookEmission = {
  [T in WebhookTopic]: { topic: T; eventId: string; data: WebhookEventData[T]; at: Date };
}[WebhookTopic];

/** Events are announced once per id: a second emission with the same id writes nothing. */
const EVENT_NAMESPACE = 'billing webhook event';

/**
 * The id of the event `topic` about `subject` (an invoice, a subscription, a ledger entry): a
 * UUID derived from both (version 8, from SHA-256), so a change that is retried, or emitted by
 * two instances, announces one event, and different topics about one subject differ.
 */
export function webhookEventId(topic: WebhookTopic, subject: string): string {
  const h = createHash('sha256').update(`${EVENT_NAMESPACE}\n${topic}\n${subject}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export const WebhookDeliveryStatus = {
  PENDING: 'PENDING',
  DELIVERED: 'DELIVERED',
  FAILED: 'FAILED',
} as const;
export type WebhookDeliveryStatus = (typeof WebhookDeliveryStatus)[keyof typeof WebhookDeliveryStatus];

/** An endpoint as the API shows it: never with its secret. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  topics: WebhookTopic[];
  enabled: boolean;
  consecutiveFailures: number;
  disabledAt: Date | null;
  disabledReason: string | null;
  /** Until when deliveries are also signed with the secret before the last rotation; null: they are not. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * One try at delivering: the HTTP status (null when there was no answer) and the duration, and
 * nothing else. The error text is made from the status alone (see attemptError): how a request
 * failed (refused, timed out, no such host) or what a receiver answered would let whoever
 * registers endpoints map the network behind the service.
 */
export interface WebhookAttempt {
  attempt: number;
  attemptedAt: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** One event for one endpoint, written with the event it carries (or by a replay). */
export interface WebhookDelivery {
  id: string;
  endpointId: string;
  topic: WebhookTopic;
  eventId: string;
  payload: Record<string, unknown>;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  deliveredAt: Date | null;
  createdAt: Date;
  /** The replay that wrote it; null for the delivery written with the event. */
  replayId: string | null;
}

export interface WebhookDeliveryWithAttempts extends WebhookDelivery {
  attemptLog: WebhookAttempt[];
}

/** The only error texts an attempt shows: null on 2xx, the status otherwise, or "no response". */
export function attemptError(statusCode: number | null): string | null {
  if (statusCode === null || statusCode === 0) return 'no response';
  return statusCode >= 200 && statusCode < 300 ? null : `the endpoint answered HTTP ${statusCode}`;
}
