import { AlertMetric } from '../alerts/alert.record.js';
import { WebhookTopic } from './webhook.record.js';

/**
 * The webhook catalogue: every topic, when it is sent, and the JSON Schema (draft 2020-12) of
 * its `data`. The body of every delivery is `{ id, type, timestamp, data }` (webhookBodySchema);
 * `billing schema webhooks` writes one schema file per topic to docs/webhooks from here, and a
 * test keeps those files and every emitted payload in line with it.
 *
 * Every property is always present (null when it has no value); amounts are decimal strings and
 * instants ISO 8601 strings. Receivers should ignore properties they do not know: new ones may be
 * added to a topic, while removing or retyping one is a new topic.
 */

export type JsonSchema = { [key: string]: unknown };

export interface WebhookCatalogueEntry {
  topic: WebhookTopic;
  /** The GraphQL enum value (WebhookTopic). */
  name: keyof typeof WebhookTopic;
  /** When it is sent. */
  summary: string;
  /** The schema of the body's `data`. */
  data: JsonSchema;
}

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

const text = (description?: string): JsonSchema => ({ type: 'string', ...(description ? { description } : {}) });
const uuid = (description?: string): JsonSchema => ({ type: 'string', format: 'uuid', ...(description ? { description } : {}) });
const instant = (description?: string): JsonSchema => ({ type: 'string', format: 'date-time', ...(description ? { description } : {}) });
const decimal = (description: string): JsonSchema => ({ type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?$', description: `${description} (a decimal string)` });
const integer = (description: string): JsonSchema => ({ type: 'integer', description });
const oneOf = (values: readonly string[], description?: string): JsonSchema => ({ type: 'string', enum: [...values], ...(description ? { description } : {}) });

/** The same schema, also allowing null. */
function nullable(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema, type: [schema.type, 'null'] };
  if (Array.isArray(schema.enum)) out.enum = [...schema.enum, null];
  return out;
}

/** An object with exactly these properties, every one required. */
function object(properties: Record<string, JsonSchema>, description?: string): JsonSchema {
  return { type: 'object', ...(description ? { description } : {}), additionalProperties: false, required: Object.keys(properties), properties };
}

const invoice = object(
  {
    id: uuid(),
    customerId: uuid(),
    number: nullable(text('The invoice number, once finalized.')),
    kind: oneOf(['PERIOD', 'OPENING'], 'PERIOD bills a period that ended; OPENING bills base fees in advance as a period starts.'),
    status: oneOf(['DRAFT', 'FINALIZED', 'PAID', 'VOID', 'UNCOLLECTIBLE']),
    currency: text('The currency code.'),
    periodStart: instant(),
    periodEnd: instant(),
    subtotal: decimal('Lines before tax, prepaid lines left out'),
    tax: decimal('Tax'),
    total: decimal('Subtotal with tax'),
    prepaid: decimal('Paid ahead from wallets (negative or zero)'),
    amountDue: decimal(
      "What remains to be paid, as the API's Invoice.amountDue: total plus prepaid less amountPaid, and zero once PAID (a refund of a paid invoice does not make it due again); negative is a credit to the customer",
    ),
    amountPaid: decimal('Received for the invoice, less what was refunded'),
    paymentStatus: oneOf(['NONE', 'PENDING', 'FAILED', 'PARTIALLY_PAID', 'PAID', 'UNCOLLECTIBLE', 'PARTIALLY_REFUNDED', 'REFUNDED'], "Where collecting it stands, as the API's Invoice.paymentStatus."),
    dueAt: nullable(instant('When it falls due (paymentTermsDays after finalization); null until finalized.')),
    finalizedAt: nullable(instant()),
    paidAt: nullable(instant()),
    paymentReference: nullable(text()),
    voidedAt: nullable(instant()),
    voidReason: nullable(text()),
    correctsInvoiceId: nullable(uuid('The voided invoice this one corrects.')),
    createdAt: instant(),
  },
  "The invoice header as it is after the change, its figures as the API's Invoice has them (the same for every invoice topic); its lines are read through the API (invoice(id)).",
);

const subscription = (description: string) =>
  object(
    {
      id: uuid(),
      customerId: uuid(),
      planCode: text(),
      planVersion: integer('The plan version.'),
      status: oneOf(['ACTIVE', 'CANCELED', 'ENDED']),
      startsAt: instant(),
      endsAt: nullable(instant('When it ends (a cancellation or change at period end is scheduled while this is in the future).')),
      trialEndsAt: nullable(instant()),
      cancelAtPeriodEnd: { type: 'boolean' },
      canceledAt: nullable(instant()),
      replacesSubscriptionId: nullable(uuid('The subscription this one replaced on a plan change.')),
    },
    description,
  );

const wallet = object(
  {
    id: uuid(),
    customerId: uuid(),
    currency: text('The currency or credit unit code.'),
    balance: decimal('The ledger balance right after the change'),
  },
  'The wallet after the change.',
);

const alert = object(
  {
    id: uuid('The alert; also the event id.'),
    definitionId: uuid(),
    customerId: uuid(),
    walletId: nullable(uuid()),
    name: text(),
    metric: oneOf(Object.values(AlertMetric)),
    meterCode: nullable(text()),
    direction: oneOf(['BELOW', 'ABOVE']),
    level: integer('Which step of a recurring threshold was crossed: 0 for the threshold itself.'),
    threshold: decimal('The threshold of this level'),
    value: decimal('The value that crossed it'),
    periodStart: nullable(instant('The billing period, for period metrics.')),
    topUpAmount: nullable(decimal('For auto top-up definitions: the money to add')),
    createdAt: instant(),
  },
  'The alert as recorded (alerts(customerId) lists the same).',
);

const payment = object(
  {
    id: uuid('The payment attempt.'),
    amount: decimal('The amount tried'),
    currency: text(),
    attempt: integer('1 for the first attempt.'),
    failureCode: nullable(text('A code for the failure, when the payment provider gives one.')),
    failureMessage: nullable(text('Why the attempt failed.')),
    nextAttemptAt: nullable(instant('When collection is tried again; null when no attempt is left.')),
  },
  'The failed attempt.',
);

const customer = object({ id: uuid(), externalId: text('Your id for the customer.') });
const timing = oneOf(['IMMEDIATE', 'PERIOD_END'], 'IMMEDIATE: now; PERIOD_END: at the end of the current billing period (endsAt).');

export const WEBHOOK_CATALOGUE: readonly WebhookCatalogueEntry[] = [
  {
    topic: WebhookTopic.INVOICE_CREATED,
    name: 'INVOICE_CREATED',
    summary: 'An invoice was created: a draft when a period ends, or an invoice created final (an opening invoice, a period closed after its grace, a correction), which invoice.finalized follows.',
    data: object({ invoice }),
  },
  {
    topic: WebhookTopic.INVOICE_FINALIZED,
    name: 'INVOICE_FINALIZED',
    summary: 'An invoice was numbered and finalized: its amounts no longer change.',
    data: object({ invoice }),
  },
  {
    topic: WebhookTopic.INVOICE_PAID,
    name: 'INVOICE_PAID',
    summary: 'A finalized invoice was paid in full (markInvoicePaid, or payments collected).',
    data: object({ invoice }),
  },
  {
    topic: WebhookTopic.INVOICE_PAYMENT_FAILED,
    name: 'INVOICE_PAYMENT_FAILED',
    summary: 'An attempt to collect a finalized invoice failed; `payment` says why and when collection is tried again.',
    data: object({ invoice, payment }),
  },
  {
    topic: WebhookTopic.INVOICE_VOIDED,
    name: 'INVOICE_VOIDED',
    summary: 'A finalized or paid invoice was voided (voidInvoice); a reissued correction follows as invoice.created and invoice.finalized, with correctsInvoiceId.',
    data: object({ invoice }),
  },
  {
    topic: WebhookTopic.INVOICE_UNCOLLECTIBLE,
    name: 'INVOICE_UNCOLLECTIBLE',
    summary: 'Collection of an invoice was given up after its last failed attempt.',
    data: object({ invoice, reason: nullable(text()) }),
  },
  {
    topic: WebhookTopic.WALLET_TOPPED_UP,
    name: 'WALLET_TOPPED_UP',
    summary: 'Paid money was added to a wallet (topUpWallet, once per idempotency key). Credit grants are not announced.',
    data: object({
      wallet,
      topUp: object({
        entryId: text('The ledger entry.'),
        amount: decimal('The money added'),
        reference: nullable(text()),
        description: nullable(text()),
        createdAt: instant(),
      }),
    }),
  },
  {
    topic: WebhookTopic.WALLET_RECHARGE_SUCCEEDED,
    name: 'WALLET_RECHARGE_SUCCEEDED',
    summary: 'An automatic recharge charged the payment method and added the money to the wallet.',
    data: object({
      wallet,
      recharge: object({
        id: uuid('The recharge.'),
        amount: decimal('The money added'),
        entryId: text('The ledger entry.'),
        paymentReference: nullable(text()),
        createdAt: instant(),
      }),
    }),
  },
  {
    topic: WebhookTopic.WALLET_RECHARGE_FAILED,
    name: 'WALLET_RECHARGE_FAILED',
    summary: 'An automatic recharge could not charge the payment method; nothing was added.',
    data: object({
      wallet,
      recharge: object({
        id: uuid('The recharge.'),
        amount: decimal('The money it tried to add'),
        failureCode: nullable(text()),
        failureMessage: nullable(text()),
        nextAttemptAt: nullable(instant()),
        createdAt: instant(),
      }),
    }),
  },
  {
    topic: WebhookTopic.WALLET_TOP_UP_REQUESTED,
    name: 'WALLET_TOP_UP_REQUESTED',
    summary: 'An auto top-up definition (topUpAmount or topUpTarget) crossed its threshold: the alert carries topUpAmount, the money to add with topUpWallet.',
    data: object({ alert }),
  },
  {
    topic: WebhookTopic.ALERT_TRIGGERED,
    name: 'ALERT_TRIGGERED',
    summary: 'An alert definition crossed its threshold (once per crossing; auto top-up definitions send wallet.top_up_requested instead).',
    data: object({ alert }),
  },
  {
    topic: WebhookTopic.SUBSCRIPTION_CREATED,
    name: 'SUBSCRIPTION_CREATED',
    summary: 'A customer was subscribed to a plan (createSubscription).',
    data: object({ subscription: subscription('The new subscription.') }),
  },
  {
    topic: WebhookTopic.SUBSCRIPTION_CHANGED,
    name: 'SUBSCRIPTION_CHANGED',
    summary: 'A subscription moves to another plan version (changeSubscriptionPlan): `subscription` is the new one, `previous` the one it replaces, ending when the new one starts.',
    data: object({ subscription: subscription('The subscription on the new plan version.'), previous: subscription('The subscription replaced.'), timing }),
  },
  {
    topic: WebhookTopic.SUBSCRIPTION_CANCELED,
    name: 'SUBSCRIPTION_CANCELED',
    summary: 'A subscription was canceled (cancelSubscription), now or at the end of its billing period (endsAt).',
    data: object({ subscription: subscription('The canceled subscription.'), timing }),
  },
  {
    topic: WebhookTopic.CUSTOMER_SUSPENDED,
    name: 'CUSTOMER_SUSPENDED',
    summary: 'A customer was suspended, for an invoice left uncollectible under a plan that suspends or for a failed auto-recharge of a wallet that suspends: new usage is refused.',
    data: object({ customer, reason: text(), suspendedAt: instant() }),
  },
  {
    topic: WebhookTopic.CUSTOMER_REINSTATED,
    name: 'CUSTOMER_REINSTATED',
    summary: 'A suspended customer was reinstated, nothing suspending it any more (the invoice paid; the wallet recharged, or topped up or granted back to its auto-recharge threshold): usage is accepted again.',
    data: object({ customer, reinstatedAt: instant() }),
  },
];

/** The catalogue entry of a topic. */
export function catalogueEntry(topic: string): WebhookCatalogueEntry | undefined {
  return WEBHOOK_CATALOGUE.find((e) => e.topic === topic);
}

/** The JSON Schema of a whole request body of the topic: `{ id, type, timestamp, data }`. */
export function webhookBodySchema(entry: WebhookCatalogueEntry): JsonSchema {
  return {
    $schema: DRAFT,
    title: entry.topic,
    description: entry.summary,
    ...object({
      id: uuid('The event id, also sent as the webhook-id header: the same on every retry and replay of the event, so deduplicate on it.'),
      type: { const: entry.topic },
      timestamp: instant('When the change happened (a retry or replay keeps it; the webhook-timestamp header is when the request was signed).'),
      data: entry.data,
    }),
  };
}

/** The files `billing schema webhooks` writes: `<topic>.schema.json`, formatted as JSON.stringify(schema, null, 2). */
export function webhookSchemaFiles(): Array<{ file: string; text: string }> {
  return WEBHOOK_CATALOGUE.map((e) => ({ file: `${e.topic}.schema.json`, text: `${JSON.stringify(webhookBodySchema(e), null, 2)}\n` }));
}
