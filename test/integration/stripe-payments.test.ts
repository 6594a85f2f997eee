import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import {
  CreateCustomerDocument,
  CreateCustomerTokenDocument,
  CreateDunningPlanDocument,
  CustomerPaymentReferencesDocument,
  CreateMeterDocument,
  CreateSubscriptionDocument,
  InvoicePaymentsDocument,
  InvoicesDocument,
  RefundPaymentDocument,
  SetCustomerPaymentMethodDocument,
} from '../generated/graphql.js';
import type { GraphQLResult } from '../support/graphql-client.js';
import { LocalStripeApi } from '../support/stripe-api.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * The Stripe adapter's contract, against a local server speaking the subset of Stripe's API the
 * adapter uses (test/support/stripe-api.ts: PaymentIntents and refunds, form-encoded, with
 * idempotency keys and Stripe's test payment methods), which also sends the service signed
 * webhook events as Stripe does. The network is never reached.
 *
 * A plan bills a 100 USD base fee in arrears for calendar months, so March closes into an invoice
 * of exactly 100.00, final on April 2 after a one-day grace period. Dunning runs by hand on the
 * fixed clock, with the global retry days 1,3,5,7.
 */
const clock = new FixedClock(new Date('2026-03-01T00:00:00Z'));
let t: TestApp;
let stripe: LocalStripeApi;
let seq = 0;

beforeAll(async () => {
  stripe = await LocalStripeApi.start();
  t = await startTestApp({
    clock,
    env: { ...stripe.env, RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', INVOICE_GRACE_MS: '86400000', DUNNING_INTERVAL_MS: '0', WALLET_RECHARGE_POLL_MS: '0' },
  });
  stripe.webhookUrl = t.url.replace('/graphql', '/v1/providers/stripe/webhook');
  await t.admin.ok(CreateMeterDocument, { input: { code: 'llm_tokens', name: 'Tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'tokenType'] } });
  await t.admin.ok(CreateDunningPlanDocument, {
    input: { code: 'monthly-100', name: 'Monthly', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '100', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'hybrid-plan' }] },
  });
});

afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

const problem = (r: GraphQLResult<unknown>) => ({ code: r.errors?.[0]?.extensions?.code, paths: ((r.errors?.[0]?.extensions?.fields as Array<{ path: string }> | undefined) ?? []).map((f) => f.path) });

/** A customer on the plan since March 1, paying with `paymentMethod` at Stripe (MANUAL when null), with March closed: its finalized invoice of 100.00. */
async function invoiced(paymentMethod: string | null): Promise<{ customerId: string; invoiceId: string; stripeCustomer: string }> {
  const externalId = `stripe-${process.pid}-${seq++}`;
  const stripeCustomer = `cus_T${seq}x${process.pid}`;
  clock.set('2026-03-01T00:00:00Z');
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD' } })).createCustomer;
  if (paymentMethod) {
    const set = await t.admin.ok(SetCustomerPaymentMethodDocument, { input: { customerId: customer.id, provider: 'STRIPE', stripeCustomerId: stripeCustomer, stripePaymentMethodId: paymentMethod } });
    expect(set.setCustomerPaymentMethod.customer).toEqual({ id: customer.id, paymentProvider: 'STRIPE', stripeCustomerId: stripeCustomer, stripePaymentMethodId: paymentMethod });
  }
  await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: 'monthly-100', startsAt: '2026-03-01T00:00:00Z', baseFeeTiming: 'ARREARS' } });
  clock.set('2026-04-02T00:00:00Z');
  await t.app.services.invoices.closeCustomer(customer.id, clock.now());
  const invoice = (await t.admin.ok(InvoicesDocument, { customerId: customer.id, first: 5 })).invoices.nodes.find((i) => i.periodStart === '2026-03-01T00:00:00.000Z')!;
  expect(invoice).toMatchObject({ status: 'FINALIZED', total: '100.00', amountDue: '100.00' });
  return { customerId: customer.id, invoiceId: invoice.id, stripeCustomer };
}

const invoice = async (id: string) => (await t.admin.ok(InvoicePaymentsDocument, { id })).invoice!;

/** The PaymentIntent requests made for an invoice, in order. */
const intentsFor = (invoiceId: string) => stripe.to('POST', '/v1/payment_intents').filter((r) => r.form['metadata[invoiceId]'] === invoiceId);

const eventsAbout = async (invoiceId: string) =>
  (await t.app.sql.query<{ topic: string }>(`select topic from webhook_event where data -> 'invoice' ->> 'id' = $1 order by occurred_at, topic`, [invoiceId])).map((r) => r.topic);

describe('collecting a finalized invoice with Stripe', () => {
  it('charges it off-session once, at finalization, with the attempt key as the idempotency key, and marks it PAID', async () => {
    const { invoiceId, stripeCustomer } = await invoiced('pm_card_visa');
    // The first attempt is due as the invoice is finalized.
    expect(await invoice(invoiceId)).toMatchObject({ paymentStatus: 'NONE', nextPaymentAttemptAt: '2026-04-02T00:00:00.000Z' });

    expect(await t.app.services.dunning.runDue()).toBe(1);
    const [request, ...more] = intentsFor(invoiceId);
    expect(more).toEqual([]);
    expect(request!.headers['idempotency-key']).toBe(`${invoiceId}:1`);
    expect(request!.headers.authorization).toBe(`Bearer ${stripe.secretKey}`);
    expect(request!.headers['stripe-version']).toMatch(/^\d{4}-\d{2}-\d{2}/);
    expect(request!.form).toEqual({
      amount: '10000',
      currency: 'usd',
      customer: stripeCustomer,
      payment_method: 'pm_card_visa',
      off_session: 'true',
      confirm: 'true',
      description: expect.stringMatching(/^Invoice INV-\d+$/),
      'metadata[invoiceId]': invoiceId,
      'metadata[attempt]': '1',
    });
    const pi = stripe.created().find((p) => p.metadata.invoiceId === invoiceId)!;
    const paid = await invoice(invoiceId);
    expect(paid).toMatchObject({ status: 'PAID', paymentStatus: 'PAID', amountPaid: '100.00', amountDue: '0.00', nextPaymentAttemptAt: null, paidAt: '2026-04-02T00:00:00.000Z', paymentReference: pi.id });
    expect(paid.paymentAttempts.map((p) => [p.attempt, p.status, p.amount, p.provider, p.reference])).toEqual([[1, 'SUCCEEDED', '100', 'STRIPE', pi.id]]);

    // Nothing is due any more: no second charge.
    clock.set('2026-04-09T00:00:00Z');
    expect(await t.app.services.dunning.runDue()).toBe(0);
    expect(intentsFor(invoiceId)).toHaveLength(1);
    expect(await eventsAbout(invoiceId)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid']);
  });

  it('charges once when the answer is lost on the way: the attempt is sent again with the same key and Stripe answers the first PaymentIntent', async () => {
    const { invoiceId } = await invoiced('pm_card_visa');
    stripe.loseNextResponse = true;
    expect(await t.app.services.dunning.runDue()).toBe(1);
    const sent = intentsFor(invoiceId);
    expect(sent.map((r) => r.headers['idempotency-key'])).toEqual([`${invoiceId}:1`, `${invoiceId}:1`]);
    const created = stripe.created().filter((p) => p.metadata.invoiceId === invoiceId);
    expect(created).toHaveLength(1);
    expect(await invoice(invoiceId)).toMatchObject({ status: 'PAID', paymentReference: created[0]!.id, amountPaid: '100.00' });
  });

  it("leaves a MANUAL customer's invoice to the integrator: nothing is scheduled or charged", async () => {
    const { invoiceId } = await invoiced(null);
    expect(await invoice(invoiceId)).toMatchObject({ status: 'FINALIZED', paymentStatus: 'NONE', nextPaymentAttemptAt: null });
    clock.set('2026-04-20T00:00:00Z');
    await t.app.services.dunning.runDue();
    expect(intentsFor(invoiceId)).toEqual([]);
    expect(await invoice(invoiceId)).toMatchObject({ status: 'FINALIZED', paymentAttempts: [] });
  });

  it('settles a processing PaymentIntent from the signed payment_intent.succeeded event, once; refuses a bad signature and ignores other events', async () => {
    const { invoiceId } = await invoiced('pm_usBankAccount_processing');
    expect(await t.app.services.dunning.runDue()).toBe(1);
    const pi = stripe.created().find((p) => p.metadata.invoiceId === invoiceId)!;
    expect(pi.status).toBe('processing');
    expect(await invoice(invoiceId)).toMatchObject({ status: 'FINALIZED', paymentStatus: 'PENDING', nextPaymentAttemptAt: null });

    // Signed with another secret: refused, nothing changes.
    const forged = await stripe.sendEvent('payment_intent.succeeded', { ...pi, status: 'succeeded' }, { secret: 'whsec_someoneElse' });
    expect(forged.status).toBe(400);
    const unsigned = await fetch(stripe.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(forged.event) });
    expect(unsigned.status).toBe(400);
    expect(await invoice(invoiceId)).toMatchObject({ status: 'FINALIZED', paymentStatus: 'PENDING' });

    // An event the service does not act on is acknowledged.
    expect((await stripe.sendEvent('customer.updated', { id: 'cus_X', object: 'customer' })).status).toBe(200);

    clock.set('2026-04-04T09:00:00Z');
    const settled = await stripe.finish(pi.id, 'succeeded');
    expect(settled.status).toBe(200);
    const paid = await invoice(invoiceId);
    expect(paid).toMatchObject({ status: 'PAID', paymentStatus: 'PAID', amountPaid: '100.00', paidAt: '2026-04-04T09:00:00.000Z', paymentReference: pi.id });

    // Stripe delivers the same event again: the same answer, and nothing moves.
    clock.set('2026-04-05T09:00:00Z');
    const replay = await stripe.post(JSON.stringify(settled.event));
    expect(replay.status).toBe(200);
    expect(await invoice(invoiceId)).toEqual(paid);
    expect(await eventsAbout(invoiceId)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid']);
  });

  it('settles a processing PaymentIntent whose webhook never comes: past PAYMENT_PENDING_CHECK_MINUTES (15) the worker asks Stripe, once a window, and settles it as the event would', async () => {
    const { invoiceId } = await invoiced('pm_usBankAccount_processing');
    expect(await t.app.services.dunning.runDue()).toBe(1);
    const pi = stripe.created().find((p) => p.metadata.invoiceId === invoiceId)!;
    const reads = () => stripe.to('GET', `/v1/payment_intents/${pi.id}`);
    const check = () => t.app.services.dunning.checkPending();

    // Within the window Stripe is not asked; at its end it is, and the PaymentIntent is still processing.
    clock.set('2026-04-02T00:14:59Z');
    expect(await check()).toBe(0);
    expect(reads()).toHaveLength(0);
    clock.set('2026-04-02T00:15:00Z');
    expect(await check()).toBe(0);
    expect(reads()).toHaveLength(1);
    expect(reads()[0]!.headers.authorization).toBe(`Bearer ${stripe.secretKey}`);
    expect(await check()).toBe(0);
    expect(reads()).toHaveLength(1); // asked once a window while it stays pending
    expect(await invoice(invoiceId)).toMatchObject({ status: 'FINALIZED', paymentStatus: 'PENDING' });

    // The debit succeeds at Stripe, and the event is lost.
    stripe.finishQuietly(pi.id, 'succeeded');
    clock.set('2026-04-02T00:29:59Z');
    expect(await check()).toBe(0);
    expect(reads()).toHaveLength(1);
    // Stripe fails on its side: nothing changes, and the next pass asks again.
    stripe.failNextReads = 1;
    clock.set('2026-04-02T00:30:00Z');
    expect(await check()).toBe(0);
    expect(reads()).toHaveLength(2);
    expect(await invoice(invoiceId)).toMatchObject({ status: 'FINALIZED', paymentStatus: 'PENDING' });
    expect(await check()).toBe(1);
    expect(reads()).toHaveLength(3);
    const paid = await invoice(invoiceId);
    expect(paid).toMatchObject({ status: 'PAID', paymentStatus: 'PAID', amountPaid: '100.00', amountDue: '0.00', paidAt: '2026-04-02T00:30:00.000Z', paymentReference: pi.id });
    expect(paid.paymentAttempts.map((p) => [p.attempt, p.status, p.amount, p.reference])).toEqual([[1, 'SUCCEEDED', '100', pi.id]]);
    expect(await eventsAbout(invoiceId)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid']);

    // The event arrives after all: the same payment, nothing more; and nothing is pending to ask about.
    clock.set('2026-04-03T00:00:00Z');
    expect((await stripe.sendEvent('payment_intent.succeeded', pi)).status).toBe(200);
    expect(await invoice(invoiceId)).toEqual(paid);
    expect(await check()).toBe(0);
    expect(reads()).toHaveLength(3);
    expect(await eventsAbout(invoiceId)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid']);
  });

  it('fails a processing PaymentIntent that Stripe ended declined while its event was lost, and dunning follows', async () => {
    const { customerId, invoiceId, stripeCustomer } = await invoiced('pm_usBankAccount_processing');
    expect(await t.app.services.dunning.runDue()).toBe(1);
    const pi = stripe.finishQuietly(stripe.created().find((p) => p.metadata.invoiceId === invoiceId)!.id, 'failed');
    clock.set('2026-04-02T06:00:00Z');
    expect(await t.app.services.dunning.checkPending()).toBe(1);
    const failed = await invoice(invoiceId);
    expect(failed).toMatchObject({ status: 'FINALIZED', paymentStatus: 'FAILED', nextPaymentAttemptAt: '2026-04-03T06:00:00.000Z' });
    expect(failed.paymentAttempts.map((p) => [p.attempt, p.status, p.failureReason, p.reference])).toEqual([[1, 'FAILED', 'insufficient_funds', pi.id]]);
    expect(await eventsAbout(invoiceId)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.payment_failed']);

    // The retry of day 1, on a card that works, pays it.
    await t.admin.ok(SetCustomerPaymentMethodDocument, { input: { customerId, provider: 'STRIPE', stripeCustomerId: stripeCustomer, stripePaymentMethodId: 'pm_card_visa' } });
    clock.set('2026-04-03T06:00:00Z');
    expect(await t.app.services.dunning.runDue()).toBe(1);
    expect((await invoice(invoiceId)).paymentAttempts.map((p) => [p.attempt, p.status])).toEqual([[1, 'FAILED'], [2, 'SUCCEEDED']]);
  });

  it('answers an event about one of its PaymentIntents not recorded yet with 409, so that Stripe sends it again', async () => {
    const early = await stripe.sendEvent('payment_intent.succeeded', { id: 'pi_notYetRecorded', object: 'payment_intent', status: 'succeeded', metadata: { invoiceId: '00000000-0000-4000-8000-000000000000', attempt: '1' } });
    expect(early.status).toBe(409);
    const foreign = await stripe.sendEvent('payment_intent.succeeded', { id: 'pi_fromAnotherSystem', object: 'payment_intent', status: 'succeeded', metadata: {} });
    expect(foreign.status).toBe(200);
  });

  it('runs dunning on a decline: each attempt a new PaymentIntent with its own key, on schedule, until one pays', async () => {
    const { customerId, invoiceId, stripeCustomer } = await invoiced('pm_card_chargeDeclined');
    expect(await t.app.services.dunning.runDue()).toBe(1);
    const failed = await invoice(invoiceId);
    expect(failed).toMatchObject({ status: 'FINALIZED', paymentStatus: 'FAILED', nextPaymentAttemptAt: '2026-04-03T00:00:00.000Z' });
    expect(failed.paymentAttempts.map((p) => [p.attempt, p.status, p.failureReason])).toEqual([[1, 'FAILED', 'generic_decline']]);

    // Not due yet.
    clock.set('2026-04-02T23:59:59Z');
    expect(await t.app.services.dunning.runDue()).toBe(0);
    expect(intentsFor(invoiceId)).toHaveLength(1);

    // Day 1: declined again; next is day 3.
    clock.set('2026-04-03T00:00:00Z');
    expect(await t.app.services.dunning.runDue()).toBe(1);
    expect(await invoice(invoiceId)).toMatchObject({ paymentStatus: 'FAILED', nextPaymentAttemptAt: '2026-04-05T00:00:00.000Z' });

    // The customer adds a working card; day 3's attempt pays.
    await t.admin.ok(SetCustomerPaymentMethodDocument, { input: { customerId, provider: 'STRIPE', stripeCustomerId: stripeCustomer, stripePaymentMethodId: 'pm_card_visa' } });
    clock.set('2026-04-05T00:00:00Z');
    expect(await t.app.services.dunning.runDue()).toBe(1);
    const requests = intentsFor(invoiceId);
    expect(requests.map((r) => [r.headers['idempotency-key'], r.form['metadata[attempt]'], r.form.payment_method])).toEqual([
      [`${invoiceId}:1`, '1', 'pm_card_chargeDeclined'],
      [`${invoiceId}:2`, '2', 'pm_card_chargeDeclined'],
      [`${invoiceId}:3`, '3', 'pm_card_visa'],
    ]);
    const paid = await invoice(invoiceId);
    expect(paid).toMatchObject({ status: 'PAID', paymentStatus: 'PAID', amountPaid: '100.00', paidAt: '2026-04-05T00:00:00.000Z' });
    expect(paid.paymentAttempts.map((p) => [p.attempt, p.status])).toEqual([[1, 'FAILED'], [2, 'FAILED'], [3, 'SUCCEEDED']]);

    // The failure event of the first attempt, delivered late, changes nothing.
    const first = stripe.created().find((p) => p.metadata.invoiceId === invoiceId && p.metadata.attempt === '1')!;
    expect((await stripe.sendEvent('payment_intent.payment_failed', first)).status).toBe(200);
    expect(await invoice(invoiceId)).toEqual(paid);
    expect(await eventsAbout(invoiceId)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.payment_failed', 'invoice.payment_failed', 'invoice.paid']);
  });

  it('refunds through Stripe with the refund\'s own idempotency key; a retry refunds nothing more', async () => {
    const { invoiceId } = await invoiced('pm_card_visa');
    await t.app.services.dunning.runDue();
    const payment = (await invoice(invoiceId)).paymentAttempts[0]!;
    const before = stripe.to('POST', '/v1/refunds').length;
    const refund = () => t.admin.ok(RefundPaymentDocument, { input: { paymentId: payment.id, amount: '30', reason: 'goodwill', idempotencyKey: `refund-${invoiceId}` } });
    const first = (await refund()).refundPayment;
    const sent = stripe.to('POST', '/v1/refunds').slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers['idempotency-key']).toBe(`refund-${invoiceId}`);
    expect(sent[0]!.form).toEqual({ payment_intent: payment.reference, amount: '3000', 'metadata[paymentId]': payment.id });
    const re = [...stripe.refunds.values()].find((r) => r.payment_intent === payment.reference)!;
    expect(first.refund).toMatchObject({ kind: 'REFUND', status: 'SUCCEEDED', amount: '30', provider: 'STRIPE', reference: re.id, refundsPaymentId: payment.id });
    expect(first.invoice).toMatchObject({ status: 'PAID', paymentStatus: 'PARTIALLY_REFUNDED', amountPaid: '70.00', amountRefunded: '30.00' });

    const again = (await refund()).refundPayment;
    expect(again).toMatchObject({ replayed: true, refund: { id: first.refund.id } });
    expect(stripe.to('POST', '/v1/refunds').slice(before)).toHaveLength(1);
    // A refund event for it, from Stripe, changes nothing either.
    expect((await stripe.sendEvent('refund.updated', re)).status).toBe(200);
    expect(await invoice(invoiceId)).toMatchObject({ amountPaid: '70.00', amountRefunded: '30.00' });
  });
});

describe('customer references', () => {
  it('takes only Stripe references, in their formats; MANUAL clears them', async () => {
    const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId: `refs-${process.pid}`, name: 'refs', currency: 'USD' } })).createCustomer;
    const set = (input: Record<string, unknown>) => t.admin.request(SetCustomerPaymentMethodDocument, { input: { customerId: customer.id, ...input } as never });
    expect(problem(await set({ provider: 'STRIPE' }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['stripeCustomerId', 'stripePaymentMethodId'] });
    expect(problem(await set({ provider: 'STRIPE', stripeCustomerId: '4242424242424242', stripePaymentMethodId: 'card_1' }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['stripeCustomerId', 'stripePaymentMethodId'] });
    expect(problem(await set({ provider: 'MANUAL', stripeCustomerId: 'cus_A1' }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['stripeCustomerId'] });
    expect((await set({ provider: 'STRIPE', stripeCustomerId: 'cus_A1', stripePaymentMethodId: 'pm_card_visa' })).errors).toBeUndefined();
    const manual = await set({ provider: 'MANUAL' });
    expect(manual.data!.setCustomerPaymentMethod.customer).toEqual({ id: customer.id, paymentProvider: 'MANUAL', stripeCustomerId: null, stripePaymentMethodId: null });
    const customerKey = await t.app.services.apiKeys.create({ name: 'c', role: 'CUSTOMER', customerId: customer.id });
    expect(problem(await t.client(customerKey.secret).request(SetCustomerPaymentMethodDocument, { input: { customerId: customer.id, provider: 'MANUAL' } }))).toMatchObject({ code: 'FORBIDDEN' });
  });

  it("shows a customer's provider and Stripe references to ADMIN keys only: a CUSTOMER key and a customer token read null, without an error", async () => {
    const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId: `refs-read-${process.pid}`, name: 'refs', currency: 'USD' } })).createCustomer;
    await t.admin.ok(SetCustomerPaymentMethodDocument, { input: { customerId: customer.id, provider: 'STRIPE', stripeCustomerId: 'cus_Hidden1', stripePaymentMethodId: 'pm_card_visa' } });
    const read = async (client: ReturnType<typeof t.client>) => {
      const r = await client.request(CustomerPaymentReferencesDocument, { id: customer.id });
      expect(r.errors).toBeUndefined();
      return r.data!.customer;
    };
    expect(await read(t.admin)).toEqual({ id: customer.id, externalId: customer.externalId, suspendedAt: null, paymentProvider: 'STRIPE', stripeCustomerId: 'cus_Hidden1', stripePaymentMethodId: 'pm_card_visa' });
    const hidden = { id: customer.id, externalId: customer.externalId, suspendedAt: null, paymentProvider: null, stripeCustomerId: null, stripePaymentMethodId: null };
    const customerKey = await t.app.services.apiKeys.create({ name: 'own', role: 'CUSTOMER', customerId: customer.id });
    expect(await read(t.client(customerKey.secret))).toEqual(hidden);
    const { token } = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId: customer.id } })).createCustomerToken;
    expect(await read(t.client(token))).toEqual(hidden);
  });

  it('stores no card data: no column for it, and none of what Stripe showed of the card anywhere in the database', async () => {
    const columns = await t.app.sql.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns where table_schema = 'public' and column_name ~* '(card|pan|cvc|cvv|last4|exp_month|exp_year|fingerprint|iban)'`,
    );
    expect(columns).toEqual([]);
    expect((await t.app.sql.query<{ column_name: string }>(`select column_name from information_schema.columns where table_name = 'customer' and column_name like 'stripe%' order by 1`)).map((c) => c.column_name)).toEqual([
      'stripe_customer_id',
      'stripe_payment_method_id',
    ]);
    // Every PaymentIntent the local server answered carried card details as Stripe shows them.
    expect(stripe.created().length).toBeGreaterThan(0);
    const tables = await t.app.sql.query<{ name: string }>(`select quote_ident(table_name) as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`);
    const found: string[] = [];
    for (const { name } of tables) {
      const [row] = await t.app.sql.query<{ n: string }>(`select count(*) as n from ${name} x where x::text ~ '(fpLocalStripeTest42|last4|exp_month|exp_year)'`);
      if (row!.n !== '0') found.push(name);
    }
    expect(found).toEqual([]);
  });
});
