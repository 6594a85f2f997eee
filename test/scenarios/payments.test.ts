import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import {
  AuthorizeUsageDocument,
  CreateCustomerDocument,
  CreateDunningPlanDocument,
  CreateMeterDocument,
  CreateSubscriptionDocument,
  CreateWalletDocument,
  CreateWebhookEndpointDocument,
  CustomerStandingChangedDocument,
  CustomerStandingDocument,
  InvoicePaymentsDocument,
  InvoicesDocument,
  MarkInvoicePaidDocument,
  RecordPaymentAttemptDocument,
  RecordUsageBatchDocument,
  RecordUsageDocument,
  RefundPaymentDocument,
  TopUpWalletDocument,
  VoidInvoiceDocument,
  WebhookDeliveriesDocument,
  type PaymentOutcome,
} from '../generated/graphql.js';
import type { GraphQLResult } from '../support/graphql-client.js';
import { sleep, Watch, webhookReceiver, WsClients, type ReceivedHook } from '../support/live-watch.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Collecting payments on fixed dates. Plans bill a 100 USD base fee in arrears for calendar
 * months (usage inside the hybrid plan's included million tokens is free), so March closes into
 * an invoice of exactly 100.00, final on April 2 after a one-day grace period. Dunning runs by
 * hand (DUNNING_INTERVAL_MS=0) on the fixed clock; retry days are the global 1,3,5,7 unless the
 * plan sets its own.
 */
const clock = new FixedClock(new Date('2026-03-01T00:00:00Z'));
let t: TestApp;
let seq = 0;
let endpointId: string;
const hooks: ReceivedHook[] = [];
let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
const live = new WsClients();

const TOPICS = ['INVOICE_PAID', 'INVOICE_PAYMENT_FAILED', 'INVOICE_UNCOLLECTIBLE', 'CUSTOMER_SUSPENDED', 'CUSTOMER_REINSTATED'] as const;

beforeAll(async () => {
  receiver = await webhookReceiver(hooks);
  t = await startTestApp({
    clock,
    env: { RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', INVOICE_GRACE_MS: '86400000', DUNNING_INTERVAL_MS: '0', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' },
  });
  await t.admin.ok(CreateMeterDocument, { input: { code: 'llm_tokens', name: 'Tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'tokenType'] } });
  const plan = (code: string, dunning?: { retryDays?: number[]; policy?: 'SUSPEND' | 'NONE' }) =>
    t.admin.ok(CreateDunningPlanDocument, {
      input: { code, name: code, currency: 'USD', billingInterval: 'MONTHLY', baseFee: '100', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'hybrid-plan' }], dunning },
    });
  expect((await plan('global-days')).createPlan.plan.dunning).toEqual({ retryDays: null, policy: 'NONE' });
  expect((await plan('suspend-2', { retryDays: [1, 2], policy: 'SUSPEND' })).createPlan.plan.dunning).toEqual({ retryDays: [1, 2], policy: 'SUSPEND' });
  await plan('none-1', { retryDays: [1], policy: 'NONE' });
  await plan('suspend-0', { retryDays: [], policy: 'SUSPEND' });
  endpointId = (await t.admin.ok(CreateWebhookEndpointDocument, { input: { url: receiver.url, topics: [...TOPICS] } })).createWebhookEndpoint.endpoint.id;
});

afterAll(async () => {
  await live.close();
  await t?.close();
  await receiver?.close();
});

/** A customer on `planCode` since March 1 with March closed: its finalized invoice of 100.00, and the customer. */
async function invoiced(planCode: string): Promise<{ customerId: string; invoiceId: string }> {
  const externalId = `pay-${process.pid}-${seq++}`;
  clock.set('2026-03-01T00:00:00Z');
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD' } })).createCustomer;
  await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode, startsAt: '2026-03-01T00:00:00Z', baseFeeTiming: 'ARREARS' } });
  clock.set('2026-04-02T00:00:00Z');
  await t.app.services.invoices.closeCustomer(customer.id, clock.now());
  const { invoices } = await t.admin.ok(InvoicesDocument, { customerId: customer.id, first: 5 });
  const invoice = invoices.nodes.find((i) => i.periodStart === '2026-03-01T00:00:00.000Z')!;
  expect(invoice).toMatchObject({ status: 'FINALIZED', total: '100.00', amountDue: '100.00' });
  return { customerId: customer.id, invoiceId: invoice.id };
}

const attempt = (invoiceId: string, outcome: PaymentOutcome, extra: { amount?: string; reference?: string; failureReason?: string; idempotencyKey?: string } = {}) =>
  t.admin.request(RecordPaymentAttemptDocument, { input: { invoiceId, outcome, idempotencyKey: extra.idempotencyKey ?? `pay-${seq++}`, ...extra } });

async function paid(invoiceId: string, outcome: PaymentOutcome, extra: Parameters<typeof attempt>[2] = {}) {
  const r = await attempt(invoiceId, outcome, extra);
  expect(r.errors).toBeUndefined();
  return r.data!.recordPaymentAttempt;
}

const invoice = async (id: string) => (await t.admin.ok(InvoicePaymentsDocument, { id })).invoice!;

/** The error's code and field paths. */
const problem = (r: GraphQLResult<unknown>) => ({ code: r.errors?.[0]?.extensions?.code, paths: ((r.errors?.[0]?.extensions?.fields as Array<{ path: string }> | undefined) ?? []).map((f) => f.path) });

/** The webhook events written about a subject, in the order they happened (one change's events in the order of TOPIC_ORDER). */
const TOPIC_ORDER = ['INVOICE_PAYMENT_FAILED', 'INVOICE_UNCOLLECTIBLE', 'CUSTOMER_SUSPENDED', 'INVOICE_PAID', 'CUSTOMER_REINSTATED'];
async function webhooks(filter: (payload: Record<string, any>) => boolean): Promise<Array<{ topic: string; payload: Record<string, any> }>> {
  const { webhookDeliveries } = await t.admin.ok(WebhookDeliveriesDocument, { endpointId, first: 100 });
  const mine = webhookDeliveries.nodes.filter((d) => filter(d.payload as Record<string, any>));
  // Each body as it is sent is valid against its topic's published schema (docs/webhooks).
  for (const d of mine) {
    const type = d.topic.toLowerCase().replace('_', '.');
    const valid = bodySchema(type);
    expect(valid({ id: d.eventId, type, timestamp: d.createdAt, data: d.payload }), `${type}: ${JSON.stringify(valid.errors)}`).toBe(true);
  }
  return mine
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || TOPIC_ORDER.indexOf(a.topic) - TOPIC_ORDER.indexOf(b.topic))
    .map((d) => ({ topic: d.topic, payload: d.payload as Record<string, any> }));
}
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
ajv.addFormat('date-time', (x: string) => !Number.isNaN(Date.parse(x)));
const bodySchema = (type: string) => ajv.getSchema(type) ?? (ajv.addSchema(JSON.parse(readFileSync(`docs/webhooks/${type}.schema.json`, 'utf8')), type), ajv.getSchema(type)!);

const aboutInvoice = (invoiceId: string) => (p: Record<string, any>) => p.invoice?.id === invoiceId;
const aboutCustomer = (customerId: string) => (p: Record<string, any>) => p.invoice?.customerId === customerId || p.customer?.id === customerId;

async function useTokens(customerId: string, key: string) {
  return (await t.admin.ok(RecordUsageDocument, { input: { customerId, meterCode: 'llm_tokens', quantity: '1000', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: key } })).recordUsage;
}

const eventsOf = async (customerId: string) => Number((await t.app.sql.query<{ n: string }>('select count(*) as n from usage_event where customer_id = $1', [customerId]))[0]!.n);

describe('a failed payment retried on schedule', () => {
  it('dates each retry from the first failure, moves past a retry day without a report, and is paid by a later attempt', async () => {
    const { invoiceId } = await invoiced('global-days');
    clock.set('2026-04-02T10:00:00Z');
    const first = await paid(invoiceId, 'FAILED', { failureReason: 'card declined', reference: 'att-1' });
    expect(first.payment).toMatchObject({ kind: 'PAYMENT', status: 'FAILED', attempt: 1, amount: '100', reference: 'att-1', failureReason: 'card declined', at: '2026-04-02T10:00:00.000Z', provider: 'MANUAL' });
    expect(first.invoice).toMatchObject({ status: 'FINALIZED', paymentStatus: 'FAILED', amountDue: '100.00', amountPaid: '0.00', nextPaymentAttemptAt: '2026-04-03T10:00:00.000Z' });

    // Day 1's retry, reported during that day, fails too: the next is day 3.
    clock.set('2026-04-03T12:00:00Z');
    expect((await paid(invoiceId, 'FAILED', { failureReason: 'insufficient funds' })).invoice.nextPaymentAttemptAt).toBe('2026-04-05T10:00:00.000Z');

    // Day 3 passes without a report: the worker moves the invoice to day 5, once.
    clock.set('2026-04-06T09:59:59Z');
    expect(await t.app.services.dunning.runDue()).toBe(0);
    clock.set('2026-04-06T10:00:00Z');
    expect(await t.app.services.dunning.runDue()).toBe(1);
    expect(await t.app.services.dunning.runDue()).toBe(0);
    expect(await invoice(invoiceId)).toMatchObject({ status: 'FINALIZED', paymentStatus: 'FAILED', nextPaymentAttemptAt: '2026-04-07T10:00:00.000Z' });

    clock.set('2026-04-07T15:00:00Z');
    const done = await paid(invoiceId, 'SUCCEEDED', { reference: 'pi_ok' });
    expect(done.invoice).toMatchObject({
      status: 'PAID', paymentStatus: 'PAID', amountDue: '0.00', amountPaid: '100.00', nextPaymentAttemptAt: null, paidAt: '2026-04-07T15:00:00.000Z', paymentReference: 'pi_ok',
    });
    expect(done.invoice.paymentAttempts.map((p) => [p.attempt, p.status, p.amount, p.at])).toEqual([
      [1, 'FAILED', '100', '2026-04-02T10:00:00.000Z'],
      [2, 'FAILED', '100', '2026-04-03T12:00:00.000Z'],
      [3, 'SUCCEEDED', '100', '2026-04-07T15:00:00.000Z'],
    ]);
    // The paid invoice is no longer dunned.
    clock.set('2026-04-20T00:00:00Z');
    expect(await t.app.services.dunning.runDue()).toBe(0);

    const sent = await webhooks(aboutInvoice(invoiceId));
    expect(sent.map((w) => [w.topic, w.payload.payment?.attempt ?? null, w.payload.payment?.nextAttemptAt ?? null, w.payload.invoice.status])).toEqual([
      ['INVOICE_PAYMENT_FAILED', 1, '2026-04-03T10:00:00.000Z', 'FINALIZED'],
      ['INVOICE_PAYMENT_FAILED', 2, '2026-04-05T10:00:00.000Z', 'FINALIZED'],
      ['INVOICE_PAID', null, null, 'PAID'],
    ]);
    expect(sent[0]!.payload.payment).toMatchObject({ amount: '100', currency: 'USD', failureMessage: 'card declined' });
    // The invoice as the API has it: amountDue is what remains to be paid.
    expect(sent[0]!.payload.invoice).toMatchObject({ total: '100.00', amountDue: '100.00', amountPaid: '0.00', paymentStatus: 'FAILED', dueAt: '2026-04-16T00:00:00.000Z' });
    expect(sent[2]!.payload.invoice).toMatchObject({ amountDue: '0.00', amountPaid: '100.00', paymentStatus: 'PAID', paymentReference: 'pi_ok', dueAt: '2026-04-16T00:00:00.000Z' });
  });
});

describe('dunning to suspension', () => {
  it('makes the invoice UNCOLLECTIBLE after the last retry day, suspends the customer (usage refused, pushed live) and a payment reinstates it at once', async () => {
    const { customerId, invoiceId } = await invoiced('suspend-2');
    const standing = new Watch(live.open(t.wsUrl, t.adminKey), CustomerStandingChangedDocument, { customerId }, 'customerStandingChanged');
    await sleep(300);
    clock.set('2026-04-02T01:00:00Z');
    expect((await useTokens(customerId, `before-${seq}`)).status).toBe('ACCEPTED');
    expect((await paid(invoiceId, 'FAILED', { failureReason: 'expired card' })).invoice.nextPaymentAttemptAt).toBe('2026-04-03T01:00:00.000Z');

    clock.set('2026-04-04T01:00:00Z');
    expect(await t.app.services.dunning.runDue()).toBe(1);
    expect(await invoice(invoiceId)).toMatchObject({ status: 'FINALIZED', nextPaymentAttemptAt: '2026-04-04T01:00:00.000Z' });
    expect((await t.admin.ok(CustomerStandingDocument, { id: customerId })).customer).toMatchObject({ suspendedAt: null });

    // Day 2, the last, passes without a success.
    clock.set('2026-04-05T01:00:00Z');
    expect(await t.app.services.dunning.runDue()).toBe(1);
    expect(await t.app.services.dunning.runDue()).toBe(0);
    expect(await invoice(invoiceId)).toMatchObject({ status: 'UNCOLLECTIBLE', paymentStatus: 'UNCOLLECTIBLE', nextPaymentAttemptAt: null, uncollectibleAt: '2026-04-05T01:00:00.000Z', amountDue: '100.00' });
    const suspended = (await t.admin.ok(CustomerStandingDocument, { id: customerId })).customer!;
    expect(suspended.suspendedAt).toBe('2026-04-05T01:00:00.000Z');
    expect(suspended.suspensionReason).toMatch(/^invoice INV-\d+ is uncollectible$/);
    expect(await standing.next()).toMatchObject({ customerId, status: 'SUSPENDED', reason: suspended.suspensionReason, at: '2026-04-05T01:00:00.000Z' });

    // Every way in refuses new usage, before anything is reserved or recorded.
    const before = await eventsOf(customerId);
    const refused = await useTokens(customerId, `after-${seq}`);
    expect(refused).toMatchObject({ status: 'REFUSED', event: null, refusal: { code: 'ACCOUNT_SUSPENDED' } });
    const batch = await t.admin.ok(RecordUsageBatchDocument, {
      input: { atomic: false, events: [{ customerId, meterCode: 'llm_tokens', quantity: '10', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: `b-${seq++}` }] },
    });
    expect(batch.recordUsageBatch.results.map((r) => [r.status, r.refusal?.code])).toEqual([['REFUSED', 'ACCOUNT_SUSPENDED']]);
    const authorized = await t.admin.ok(AuthorizeUsageDocument, { input: { customerId, meterCode: 'llm_tokens', estimatedQuantity: '1000', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: `a-${seq++}` } });
    expect(authorized.authorizeUsage).toMatchObject({ status: 'REFUSED', reservation: null, refusal: { code: 'ACCOUNT_SUSPENDED' } });
    const posted = await fetch(t.url.replace('/graphql', '/v1/events'), {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${t.adminKey}` },
      body: JSON.stringify({ specversion: '1.0', type: 'llm_tokens', id: `ce-${seq++}`, source: 'test', subject: (await externalIdOf(customerId)), time: clock.now().toISOString(), data: { tokens: '5', model: 'gpt-4o', tokenType: 'input' } }),
    });
    expect(((await posted.json()) as any).results.map((r: any) => [r.status, r.refusal?.code])).toEqual([['REFUSED', 'ACCOUNT_SUSPENDED']]);
    expect(await eventsOf(customerId)).toBe(before);

    // A payment of the uncollectible invoice reinstates the customer in its transaction.
    clock.set('2026-04-06T09:00:00Z');
    const done = await paid(invoiceId, 'SUCCEEDED', { reference: 'wire-77' });
    expect(done.invoice).toMatchObject({ status: 'PAID', paymentStatus: 'PAID', amountDue: '0.00', amountPaid: '100.00' });
    expect((await t.admin.ok(CustomerStandingDocument, { id: customerId })).customer).toMatchObject({ suspendedAt: null, suspensionReason: null });
    expect(await standing.next()).toMatchObject({ customerId, status: 'ACTIVE', reason: null, at: '2026-04-06T09:00:00.000Z' });
    expect((await useTokens(customerId, `reinstated-${seq}`)).status).toBe('ACCEPTED');
    expect(await eventsOf(customerId)).toBe(before + 1);
    standing.close();

    const sent = await webhooks(aboutCustomer(customerId));
    expect(sent.map((w) => w.topic)).toEqual(['INVOICE_PAYMENT_FAILED', 'INVOICE_UNCOLLECTIBLE', 'CUSTOMER_SUSPENDED', 'INVOICE_PAID', 'CUSTOMER_REINSTATED']);
    expect(sent[0]!.payload.payment).toMatchObject({ attempt: 1, nextAttemptAt: '2026-04-03T01:00:00.000Z' });
    expect(sent[1]!.payload.invoice).toMatchObject({ id: invoiceId, status: 'UNCOLLECTIBLE', amountDue: '100.00' });
    expect(sent[2]!.payload).toMatchObject({ customer: { id: customerId }, reason: suspended.suspensionReason, suspendedAt: '2026-04-05T01:00:00.000Z' });
    expect(sent[4]!.payload).toMatchObject({ customer: { id: customerId }, reinstatedAt: '2026-04-06T09:00:00.000Z' });
  });

  it('with policy NONE, the last failure makes the invoice uncollectible and the customer keeps using the service', async () => {
    const { customerId, invoiceId } = await invoiced('none-1');
    clock.set('2026-04-02T08:00:00Z');
    await paid(invoiceId, 'FAILED', { failureReason: 'declined' });
    // The retry of day 1 fails: no retry day is left.
    clock.set('2026-04-03T09:00:00Z');
    const last = await paid(invoiceId, 'FAILED', { failureReason: 'declined again' });
    expect(last.invoice).toMatchObject({ status: 'UNCOLLECTIBLE', paymentStatus: 'UNCOLLECTIBLE', nextPaymentAttemptAt: null, uncollectibleAt: '2026-04-03T09:00:00.000Z' });
    expect((await t.admin.ok(CustomerStandingDocument, { id: customerId })).customer).toMatchObject({ suspendedAt: null });
    expect((await useTokens(customerId, `none-${seq}`)).status).toBe('ACCEPTED');
    const sent = await webhooks(aboutCustomer(customerId));
    expect(sent.map((w) => [w.topic, w.payload.payment?.nextAttemptAt ?? null])).toEqual([
      ['INVOICE_PAYMENT_FAILED', '2026-04-03T08:00:00.000Z'],
      ['INVOICE_PAYMENT_FAILED', null],
      ['INVOICE_UNCOLLECTIBLE', null],
    ]);
  });
});

describe('suspension and money added', () => {
  it('keeps a customer suspended for an unpaid invoice when money is added to its wallet: only paying the invoice reinstates it', async () => {
    const { customerId, invoiceId } = await invoiced('suspend-0');
    const { wallet } = (await t.admin.ok(CreateWalletDocument, { input: { customerId } })).createWallet;
    clock.set('2026-04-02T12:00:00Z');
    expect((await paid(invoiceId, 'FAILED', { failureReason: 'declined' })).invoice.status).toBe('UNCOLLECTIBLE');
    clock.set('2026-04-03T12:00:00Z');
    await t.admin.ok(TopUpWalletDocument, { input: { walletId: wallet.id, amount: '500', idempotencyKey: `wallet-${seq++}` } });
    expect((await t.admin.ok(CustomerStandingDocument, { id: customerId })).customer).toMatchObject({ suspendedAt: '2026-04-02T12:00:00.000Z' });
    expect((await useTokens(customerId, `topped-${seq++}`)).refusal?.code).toBe('ACCOUNT_SUSPENDED');
    clock.set('2026-04-04T12:00:00Z');
    await paid(invoiceId, 'SUCCEEDED');
    expect((await t.admin.ok(CustomerStandingDocument, { id: customerId })).customer).toMatchObject({ suspendedAt: null });
    expect((await webhooks(aboutCustomer(customerId))).map((w) => w.topic)).toEqual(['INVOICE_PAYMENT_FAILED', 'INVOICE_UNCOLLECTIBLE', 'CUSTOMER_SUSPENDED', 'INVOICE_PAID', 'CUSTOMER_REINSTATED']);
  });
});

describe('suspension on several instances', () => {
  it('reaches the usage path of another instance at once, through the live bus, and so does the reinstatement', async () => {
    const other = await startTestApp({ clock, db: t.db, redisPrefix: t.redisPrefix, env: { RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', DUNNING_INTERVAL_MS: '0' } });
    try {
      const { customerId, invoiceId } = await invoiced('suspend-0');
      const viaOther = async (key: string) =>
        (await other.admin.ok(RecordUsageDocument, { input: { customerId, meterCode: 'llm_tokens', quantity: '1000', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: key } })).recordUsage;
      clock.set('2026-04-02T12:00:00Z');
      // The other instance has the customer in its usage cache, fresh for seconds yet.
      expect((await viaOther(`o-${seq++}`)).status).toBe('ACCEPTED');
      // No retry day: the first failure is the last.
      expect((await paid(invoiceId, 'FAILED', { failureReason: 'declined' })).invoice.status).toBe('UNCOLLECTIBLE');
      await sleep(500);
      expect(await viaOther(`o-${seq++}`)).toMatchObject({ status: 'REFUSED', refusal: { code: 'ACCOUNT_SUSPENDED' } });
      await paid(invoiceId, 'SUCCEEDED');
      await sleep(500);
      expect((await viaOther(`o-${seq++}`)).status).toBe('ACCEPTED');
    } finally {
      await other.app.stop();
    }
  });
});

describe('partial payments and refunds', () => {
  it('follows amountPaid and amountDue through partial payments, then partial and full refunds; an over-refund changes nothing', async () => {
    const { invoiceId } = await invoiced('global-days');
    clock.set('2026-04-03T00:00:00Z');
    const part = await paid(invoiceId, 'SUCCEEDED', { amount: '30', reference: 'p-1' });
    expect(part.invoice).toMatchObject({ status: 'FINALIZED', paymentStatus: 'PARTIALLY_PAID', amountPaid: '30.00', amountDue: '70.00', paidAt: null });
    expect(problem(await attempt(invoiceId, 'SUCCEEDED', { amount: '70.01' }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['amount'] });
    const rest = await paid(invoiceId, 'SUCCEEDED', { reference: 'p-2' });
    expect(rest.payment).toMatchObject({ amount: '70', attempt: 2 });
    expect(rest.invoice).toMatchObject({ status: 'PAID', paymentStatus: 'PAID', amountPaid: '100.00', amountDue: '0.00', paymentReference: 'p-2' });
    expect(problem(await attempt(invoiceId, 'SUCCEEDED'))).toEqual({ code: 'VALIDATION_FAILED', paths: ['invoiceId'] });

    const refund = (paymentId: string, amount: string, idempotencyKey = `r-${seq++}`) => t.admin.request(RefundPaymentDocument, { input: { paymentId, amount, reason: 'goodwill', idempotencyKey } });
    const r1 = await refund(rest.payment.id, '20');
    expect(r1.data!.refundPayment.refund).toMatchObject({ kind: 'REFUND', status: 'SUCCEEDED', amount: '20', refundsPaymentId: rest.payment.id, reason: 'goodwill', attempt: null });
    expect(r1.data!.refundPayment.invoice).toMatchObject({ status: 'PAID', paymentStatus: 'PARTIALLY_REFUNDED', amountPaid: '80.00', amountRefunded: '20.00', amountDue: '0.00' });

    // 50 is left of the 70: asking for 50.01 is refused and nothing moves.
    expect(problem(await refund(rest.payment.id, '50.01'))).toEqual({ code: 'VALIDATION_FAILED', paths: ['amount'] });
    expect(await invoice(invoiceId)).toMatchObject({ amountPaid: '80.00', amountRefunded: '20.00', paymentStatus: 'PARTIALLY_REFUNDED' });
    expect((await invoice(invoiceId)).refunds).toHaveLength(1);

    await refund(rest.payment.id, '50');
    const all = await refund(part.payment.id, '30');
    expect(all.data!.refundPayment.invoice).toMatchObject({ status: 'PAID', paymentStatus: 'REFUNDED', amountPaid: '0.00', amountRefunded: '100.00', amountDue: '0.00' });
    expect(all.data!.refundPayment.invoice.refunds.map((r) => [r.amount, r.refundsPaymentId])).toEqual([
      ['20', rest.payment.id],
      ['50', rest.payment.id],
      ['30', part.payment.id],
    ]);
    expect(problem(await refund(part.payment.id, '0.01'))).toEqual({ code: 'VALIDATION_FAILED', paths: ['amount'] });
  });

  it('refunds money received for an invoice voided afterwards', async () => {
    const { invoiceId } = await invoiced('global-days');
    clock.set('2026-04-03T00:00:00Z');
    const payment = (await paid(invoiceId, 'SUCCEEDED')).payment;
    await t.admin.ok(VoidInvoiceDocument, { input: { invoiceId, reason: 'billed twice' } });
    const refunded = await t.admin.ok(RefundPaymentDocument, { input: { paymentId: payment.id, amount: '100', idempotencyKey: `void-${seq++}` } });
    expect(refunded.refundPayment.invoice).toMatchObject({ status: 'VOID', amountPaid: '0.00', amountRefunded: '100.00', paymentStatus: 'REFUNDED' });
  });

  it('markInvoicePaid records a MANUAL payment of what remains', async () => {
    const { invoiceId } = await invoiced('global-days');
    clock.set('2026-04-03T00:00:00Z');
    await paid(invoiceId, 'SUCCEEDED', { amount: '40' });
    const marked = (await t.admin.ok(MarkInvoicePaidDocument, { input: { invoiceId, paymentReference: 'wire-9' } })).markInvoicePaid.invoice;
    expect(marked).toMatchObject({ status: 'PAID', paymentReference: 'wire-9' });
    const after = await invoice(invoiceId);
    expect(after).toMatchObject({ amountPaid: '100.00', amountDue: '0.00' });
    expect(after.paymentAttempts.map((p) => [p.amount, p.reference])).toEqual([['40', null], ['60', 'wire-9']]);
  });
});

describe('idempotency and bad input', () => {
  it('answers a retry with the first payment and refuses another request with the same key', async () => {
    const { invoiceId } = await invoiced('global-days');
    clock.set('2026-04-03T00:00:00Z');
    const key = `same-${seq++}`;
    const first = await paid(invoiceId, 'SUCCEEDED', { amount: '25', reference: 'r', idempotencyKey: key });
    const again = await paid(invoiceId, 'SUCCEEDED', { amount: '25.00', reference: 'r', idempotencyKey: key });
    expect(again).toMatchObject({ replayed: true, payment: { id: first.payment.id, amount: '25' }, invoice: { amountPaid: '25.00', amountDue: '75.00' } });
    expect(first.replayed).toBe(false);
    expect(problem(await attempt(invoiceId, 'SUCCEEDED', { amount: '26', reference: 'r', idempotencyKey: key }))).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED', paths: [] });
    const refundKey = `ref-${seq++}`;
    const refund = (amount: string) => t.admin.request(RefundPaymentDocument, { input: { paymentId: first.payment.id, amount, idempotencyKey: refundKey } });
    const r1 = (await refund('5')).data!.refundPayment;
    expect((await refund('5')).data!.refundPayment).toMatchObject({ replayed: true, refund: { id: r1.refund.id }, invoice: { amountPaid: '20.00' } });
    expect(problem(await refund('6'))).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED', paths: [] });
    expect((await invoice(invoiceId)).paymentAttempts).toHaveLength(1);
  });

  it('refuses bad input with the paths at fault, and payments on drafts and void invoices', async () => {
    const { customerId, invoiceId } = await invoiced('global-days');
    clock.set('2026-04-03T00:00:00Z');
    expect(problem(await attempt(invoiceId, 'FAILED'))).toEqual({ code: 'VALIDATION_FAILED', paths: ['failureReason'] });
    expect(problem(await attempt(invoiceId, 'SUCCEEDED', { failureReason: 'no' }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['failureReason'] });
    expect(problem(await attempt(invoiceId, 'SUCCEEDED', { amount: '-1', idempotencyKey: 'has space' }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['idempotencyKey', 'amount'] });
    expect(problem(await attempt(invoiceId, 'SUCCEEDED', { amount: '1.005' }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['amount'] });
    expect(problem(await attempt('00000000-0000-4000-8000-000000000000', 'SUCCEEDED'))).toMatchObject({ code: 'NOT_FOUND' });
    expect(problem(await t.admin.request(RefundPaymentDocument, { input: { paymentId: 'nope', amount: '1', idempotencyKey: `x-${seq++}` } }))).toMatchObject({ code: 'NOT_FOUND' });
    const failed = await paid(invoiceId, 'FAILED', { failureReason: 'declined' });
    expect(problem(await t.admin.request(RefundPaymentDocument, { input: { paymentId: failed.payment.id, amount: '1', idempotencyKey: `x-${seq++}` } }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['paymentId'] });
    const plan = await t.admin.request(CreateDunningPlanDocument, {
      input: { code: `bad-${seq++}`, name: 'bad', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '1', dunning: { retryDays: [3, 1, 400] } },
    });
    expect(problem(plan)).toEqual({ code: 'VALIDATION_FAILED', paths: ['dunning.retryDays.1', 'dunning.retryDays.2'] });

    // April's draft, and March's invoice once void.
    clock.set('2026-05-01T00:00:00Z');
    await t.app.services.invoices.closeCustomer(customerId, clock.now());
    const draft = (await t.admin.ok(InvoicesDocument, { customerId, first: 5 })).invoices.nodes.find((i) => i.status === 'DRAFT')!;
    expect(problem(await attempt(draft.id, 'SUCCEEDED'))).toEqual({ code: 'VALIDATION_FAILED', paths: ['invoiceId'] });
    await t.admin.ok(VoidInvoiceDocument, { input: { invoiceId, reason: 'wrong address' } });
    expect(problem(await attempt(invoiceId, 'SUCCEEDED'))).toEqual({ code: 'VALIDATION_FAILED', paths: ['invoiceId'] });
  });
});

async function externalIdOf(customerId: string): Promise<string> {
  return (await t.app.sql.query<{ external_id: string }>('select external_id from customer where id = $1', [customerId]))[0]!.external_id;
}
