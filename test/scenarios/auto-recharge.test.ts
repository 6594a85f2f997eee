import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import {
  CreateCustomerDocument,
  CreateDunningPlanDocument,
  CreateSubscriptionDocument,
  CreateWalletDocument,
  CustomerStandingChangedDocument,
  CustomerStandingDocument,
  GrantCreditsDocument,
  InvoicesDocument,
  RecordPaymentAttemptDocument,
  RechargeAlertsDocument,
  RecordUsageDocument,
  SetCustomerPaymentMethodDocument,
  SetWalletAutoRechargeDocument,
  TopUpWalletDocument,
  UpdateAlertDefinitionDocument,
  WalletRechargeDocument,
  type RechargeFailurePolicy,
} from '../generated/graphql.js';
import type { GraphQLResult } from '../support/graphql-client.js';
import { sleep, Watch, WsClients } from '../support/live-watch.js';
import { LocalStripeApi } from '../support/stripe-api.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue } from '../support/usage-fixtures.js';

/**
 * Auto-recharge of prepaid USD wallets on May 10, 2026 (a fixed clock), charged through Stripe,
 * here a local server speaking the subset of Stripe's API the adapter uses
 * (test/support/stripe-api.ts). Every usage event is 100,000 gpt-4o input tokens: exactly 0.25,
 * and 0.225 from a customer's 10 millionth token of the month on (the price book's 10% off).
 * Recharges are charged by hand (WALLET_RECHARGE_POLL_MS=0), several workers at once.
 */
const clock = new FixedClock(new Date('2026-05-10T12:00:00Z'));
let t: TestApp;
let stripe: LocalStripeApi;
let seq = 0;
const live = new WsClients();

beforeAll(async () => {
  stripe = await LocalStripeApi.start();
  t = await startTestApp({ clock, env: { ...stripe.env, RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', DUNNING_INTERVAL_MS: '0', WALLET_RECHARGE_POLL_MS: '0' } });
  stripe.webhookUrl = t.url.replace('/graphql', '/v1/providers/stripe/webhook');
  await setupCatalogue(t);
});

afterAll(async () => {
  await live.close();
  await t?.close();
  await stripe?.close();
});

interface Setting {
  threshold: string;
  amount?: string;
  target?: string;
  onFailure?: RechargeFailurePolicy;
}

/** A customer with a HARD USD wallet funded with `funds`, paying with `paymentMethod` at Stripe (MANUAL when null), and the wallet's auto-recharge. */
async function prepaid(funds: string, paymentMethod: string | null, setting: Setting) {
  const c = await fundedCustomer(t, funds, { startsAt: new Date('2026-05-01T00:00:00Z') });
  const stripeCustomer = `cus_R${seq++}x${process.pid}`;
  if (paymentMethod) await t.admin.ok(SetCustomerPaymentMethodDocument, { input: { customerId: c.customerId, provider: 'STRIPE', stripeCustomerId: stripeCustomer, stripePaymentMethodId: paymentMethod } });
  const set = await t.admin.ok(SetWalletAutoRechargeDocument, { input: { walletId: c.walletId!, ...setting } });
  expect(set.setWalletAutoRecharge.fired).toEqual([]);
  return { ...c, walletId: c.walletId!, stripeCustomer, definitionId: set.setWalletAutoRecharge.autoRecharge.definitionId };
}

/** `n` usage events at once, each 0.25; all accepted. */
async function use(customerId: string, n: number) {
  const batch = seq++;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => t.admin.ok(RecordUsageDocument, { input: gpt4oInput(customerId, `ar-${batch}-${i}`) })));
  expect(results.filter((r) => r.recordUsage.status !== 'ACCEPTED').map((r) => r.recordUsage.refusal?.code)).toEqual([]);
}

/** Three workers charging what is due at the same moment; how many recharges they charged between them. */
async function chargeDue(): Promise<number> {
  const worker = t.app.services.rechargeWorker;
  return (await Promise.all([worker.runDue(), worker.runDue(), worker.runDue()])).reduce((a, b) => a + b, 0);
}

const recharges = async (walletId: string) =>
  (await t.app.sql.query<{ id: string; status: string; amount: string; payment_reference: string | null; failure_code: string | null }>(
    `select id, status, amount::text, payment_reference, failure_code from wallet_recharge where wallet_id = $1 order by seq`,
    [walletId],
  )).map((r) => ({ ...r }));

const topUps = async (walletId: string) =>
  (await t.app.sql.query<{ amount: string; reference: string | null }>(`select amount::text, reference from ledger_entry where wallet_id = $1 and kind = 'TOP_UP' order by id`, [walletId])).map((r) => [r.amount, r.reference]);

const intentsFor = (walletId: string) => stripe.to('POST', '/v1/payment_intents').filter((r) => r.form['metadata[walletId]'] === walletId);

const wallet = async (id: string) => (await t.admin.ok(WalletRechargeDocument, { id })).wallet!;

/** The webhook events about a wallet (or a customer) of a topic, as written; each valid against its published schema. */
async function events(topic: string, about: { walletId?: string; customerId?: string }): Promise<Array<Record<string, any>>> {
  const rows = await t.app.sql.query<{ id: string; data: Record<string, any>; occurred_at: Date }>(
    `select id, data, occurred_at from webhook_event where topic = $1 and (data -> 'wallet' ->> 'id' = $2 or data -> 'alert' ->> 'walletId' = $2 or data -> 'customer' ->> 'id' = $3) order by occurred_at, id`,
    [topic, about.walletId ?? null, about.customerId ?? null],
  );
  const valid = bodySchema(topic);
  for (const r of rows) expect(valid({ id: r.id, type: topic, timestamp: r.occurred_at.toISOString(), data: r.data }), `${topic}: ${JSON.stringify(valid.errors)}`).toBe(true);
  return rows.map((r) => r.data);
}
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
ajv.addFormat('date-time', (x: string) => !Number.isNaN(Date.parse(x)));
const bodySchema = (type: string) => ajv.getSchema(type) ?? (ajv.addSchema(JSON.parse(readFileSync(`docs/webhooks/${type}.schema.json`, 'utf8')), type), ajv.getSchema(type)!);

const problem = (r: GraphQLResult<unknown>) => ({ code: r.errors?.[0]?.extensions?.code, paths: ((r.errors?.[0]?.extensions?.fields as Array<{ path: string }> | undefined) ?? []).map((f) => f.path) });

describe('auto-recharge through Stripe', () => {
  it('charges exactly once and tops up once when 100 concurrent events cross the threshold, and once again at the next crossing', async () => {
    const c = await prepaid('30', 'pm_card_visa', { threshold: '10', amount: '20' });
    expect((await wallet(c.walletId)).autoRecharge).toEqual({ walletId: c.walletId, enabled: true, threshold: '10', amount: '20', target: null, onFailure: 'NONE', definitionId: c.definitionId });

    // 100 events of 0.25 take 30.00 to 5.00: the threshold of 10 is crossed once, by one of them.
    await use(c.customerId, 100);
    expect(await recharges(c.walletId)).toEqual([{ id: expect.any(String), status: 'IN_FLIGHT', amount: '20000000000', payment_reference: null, failure_code: null }]);
    expect(intentsFor(c.walletId)).toEqual([]);

    expect(await chargeDue()).toBe(1);
    const [first] = await recharges(c.walletId);
    const [request, ...others] = intentsFor(c.walletId);
    expect(others).toEqual([]);
    expect(request!.headers['idempotency-key']).toBe(`recharge:${first!.id}`);
    expect(request!.form).toEqual({
      amount: '2000',
      currency: 'usd',
      customer: c.stripeCustomer,
      payment_method: 'pm_card_visa',
      off_session: 'true',
      confirm: 'true',
      description: 'Wallet auto-recharge',
      'metadata[rechargeId]': first!.id,
      'metadata[walletId]': c.walletId,
    });
    const pi = stripe.created().find((p) => p.metadata.rechargeId === first!.id)!;
    expect(first).toMatchObject({ status: 'SUCCEEDED', payment_reference: pi.id });
    expect(await topUps(c.walletId)).toEqual([['30000000000', null], ['20000000000', pi.id]]);
    expect(await wallet(c.walletId)).toMatchObject({ balance: '25', available: '25' });
    const succeeded = await events('wallet.recharge_succeeded', { walletId: c.walletId });
    expect(succeeded).toEqual([
      {
        wallet: { id: c.walletId, customerId: c.customerId, currency: 'USD', balance: '25' },
        recharge: { id: first!.id, amount: '20', entryId: expect.any(String), paymentReference: pi.id, createdAt: '2026-05-10T12:00:00.000Z' },
      },
    ]);
    // Nothing more is due: no second charge.
    expect(await chargeDue()).toBe(0);
    expect(intentsFor(c.walletId)).toHaveLength(1);

    // The balance went back above 10; 80 more events at 0.225 take it from 25.00 to 7.00: a second crossing.
    await use(c.customerId, 80);
    expect(await chargeDue()).toBe(1);
    const all = await recharges(c.walletId);
    expect(all.map((r) => [r.status, r.amount])).toEqual([['SUCCEEDED', '20000000000'], ['SUCCEEDED', '20000000000']]);
    expect(intentsFor(c.walletId).map((r) => r.headers['idempotency-key'])).toEqual(all.map((r) => `recharge:${r.id}`));
    expect((await topUps(c.walletId)).map(([amount]) => amount)).toEqual(['30000000000', '20000000000', '20000000000']);
    expect(await wallet(c.walletId)).toMatchObject({ balance: '27' });
    expect(await events('wallet.recharge_succeeded', { walletId: c.walletId })).toHaveLength(2);
    // A collecting provider recharges: no alert, and no request to the integrator.
    expect((await t.admin.ok(RechargeAlertsDocument, { customerId: c.customerId })).alerts.nodes).toEqual([]);
    expect(await events('wallet.top_up_requested', { walletId: c.walletId })).toEqual([]);
  });

  it('on a decline records the failure, alerts, sends wallet.recharge_failed and suspends; once the card is fixed, setting it again recharges and reinstates', async () => {
    const c = await prepaid('12.25', 'pm_card_chargeDeclinedInsufficientFunds', { threshold: '10', target: '50', onFailure: 'SUSPEND' });
    // 9 events take 12.25 to 10.00, not below; the 10th crosses at 9.75, and the target asks for 40.25.
    await use(c.customerId, 9);
    await use(c.customerId, 1);
    expect(await chargeDue()).toBe(1);
    const [failed] = await recharges(c.walletId);
    expect(failed).toMatchObject({ status: 'FAILED', amount: '40250000000', failure_code: 'insufficient_funds' });
    expect(intentsFor(c.walletId).map((r) => [r.form.amount, r.headers['idempotency-key']])).toEqual([['4025', `recharge:${failed!.id}`]]);
    expect(await topUps(c.walletId)).toEqual([['12250000000', null]]);

    expect(await events('wallet.recharge_failed', { walletId: c.walletId })).toEqual([
      {
        wallet: { id: c.walletId, customerId: c.customerId, currency: 'USD', balance: '9.75' },
        recharge: { id: failed!.id, amount: '40.25', failureCode: 'insufficient_funds', failureMessage: 'STRIPE did not charge 40.25 USD for the auto-recharge: insufficient_funds', nextAttemptAt: null, createdAt: '2026-05-10T12:00:00.000Z' },
      },
    ]);
    const alerts = (await t.admin.ok(RechargeAlertsDocument, { customerId: c.customerId })).alerts.nodes;
    expect(alerts).toEqual([{ id: expect.any(String), definitionId: c.definitionId, walletId: c.walletId, name: 'Auto-recharge failed: insufficient_funds', metric: 'WALLET_AVAILABLE', threshold: '10', value: '9.75', topUpAmount: '40.25' }]);

    // The wallet's policy: the customer is suspended, and its usage refused.
    const standing = (await t.admin.ok(CustomerStandingDocument, { id: c.customerId })).customer!;
    expect(standing).toMatchObject({ suspendedAt: '2026-05-10T12:00:00.000Z', suspensionReason: `the auto-recharge of wallet ${c.walletId} failed: insufficient_funds` });
    const refused = await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `after-${seq++}`) });
    expect(refused.recordUsage).toMatchObject({ status: 'REFUSED', refusal: { code: 'ACCOUNT_SUSPENDED' } });
    expect(await events('customer.suspended', { customerId: c.customerId })).toHaveLength(1);
    // Nothing is retried by itself.
    expect(await chargeDue()).toBe(0);
    expect(intentsFor(c.walletId)).toHaveLength(1);

    // The customer fixes its card; setting the auto-recharge again checks the threshold at once.
    clock.set('2026-05-10T15:00:00Z');
    await t.admin.ok(SetCustomerPaymentMethodDocument, { input: { customerId: c.customerId, provider: 'STRIPE', stripeCustomerId: c.stripeCustomer, stripePaymentMethodId: 'pm_card_visa' } });
    await t.admin.ok(SetWalletAutoRechargeDocument, { input: { walletId: c.walletId, threshold: '10', target: '50', onFailure: 'SUSPEND' } });
    expect(await chargeDue()).toBe(1);
    const [, retried] = await recharges(c.walletId);
    expect(retried).toMatchObject({ status: 'SUCCEEDED', amount: '40250000000' });
    expect(await wallet(c.walletId)).toMatchObject({ balance: '50' });
    expect((await t.admin.ok(CustomerStandingDocument, { id: c.customerId })).customer).toMatchObject({ suspendedAt: null, suspensionReason: null });
    expect(await events('customer.reinstated', { customerId: c.customerId })).toEqual([{ customer: { id: c.customerId, externalId: c.externalId }, reinstatedAt: '2026-05-10T15:00:00.000Z' }]);
    expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `reinstated-${seq++}`) })).recordUsage.status).toBe('ACCEPTED');
  });

  it('keeps a charge Stripe settles later in flight, never asks for a second one meanwhile, and tops up once from the signed event', async () => {
    const c = await prepaid('12.25', 'pm_usBankAccount_processing', { threshold: '10', amount: '20' });
    await use(c.customerId, 9);
    await use(c.customerId, 1);
    expect(await chargeDue()).toBe(1);
    const [pending] = await recharges(c.walletId);
    const pi = stripe.created().find((p) => p.metadata.rechargeId === pending!.id)!;
    expect(pi.status).toBe('processing');
    expect(pending).toMatchObject({ status: 'IN_FLIGHT', payment_reference: pi.id });
    expect(await chargeDue()).toBe(0);

    // Money added by hand takes the balance back above 10, and usage below again: a crossing
    // while the recharge is in flight asks for nothing more.
    await t.admin.ok(TopUpWalletDocument, { input: { walletId: c.walletId, amount: '5', idempotencyKey: `by-hand-${seq++}` } });
    await use(c.customerId, 20);
    expect(await recharges(c.walletId)).toHaveLength(1);
    expect(await chargeDue()).toBe(0);

    const settled = await stripe.finish(pi.id, 'succeeded');
    expect(settled.status).toBe(200);
    expect(await recharges(c.walletId)).toEqual([{ ...pending, status: 'SUCCEEDED' }]);
    expect(await topUps(c.walletId)).toEqual([['12250000000', null], ['5000000000', null], ['20000000000', pi.id]]);
    expect(await wallet(c.walletId)).toMatchObject({ balance: '29.75' });
    // Stripe sends the event again: nothing moves.
    expect((await stripe.post(JSON.stringify(settled.event))).status).toBe(200);
    expect(await topUps(c.walletId)).toHaveLength(3);
    expect(await events('wallet.recharge_succeeded', { walletId: c.walletId })).toHaveLength(1);
    expect(intentsFor(c.walletId)).toHaveLength(1);
  });

  it('asks Stripe about a charge whose webhook never comes once PAYMENT_PENDING_CHECK_MINUTES (15) have passed: tops up once, and the wallet recharges again at its next crossing', async () => {
    clock.set('2026-05-11T09:00:00Z');
    const c = await prepaid('12.25', 'pm_usBankAccount_processing', { threshold: '10', amount: '20' });
    await use(c.customerId, 9);
    await use(c.customerId, 1);
    expect(await chargeDue()).toBe(1);
    const [pending] = await recharges(c.walletId);
    const pi = stripe.created().find((p) => p.metadata.rechargeId === pending!.id)!;
    expect(pending).toMatchObject({ status: 'IN_FLIGHT', payment_reference: pi.id });
    const check = () => t.app.services.rechargeWorker.checkPending();
    const reads = () => stripe.to('GET', `/v1/payment_intents/${pi.id}`);

    clock.set('2026-05-11T09:14:59Z');
    expect(await check()).toBe(0);
    expect(reads()).toHaveLength(0);
    clock.set('2026-05-11T09:15:00Z');
    expect(await check()).toBe(0);
    expect(reads()).toHaveLength(1); // still processing: asked again a window later
    expect(await check()).toBe(0);
    expect(reads()).toHaveLength(1);

    // The debit succeeds at Stripe and its event is lost; the next window's question settles it.
    stripe.finishQuietly(pi.id, 'succeeded');
    clock.set('2026-05-11T09:30:00Z');
    expect(await check()).toBe(1);
    expect(reads()).toHaveLength(2);
    expect(await recharges(c.walletId)).toEqual([{ ...pending, status: 'SUCCEEDED' }]);
    expect(await topUps(c.walletId)).toEqual([['12250000000', null], ['20000000000', pi.id]]);
    expect(await wallet(c.walletId)).toMatchObject({ balance: '29.75' });
    expect(await events('wallet.recharge_succeeded', { walletId: c.walletId })).toEqual([
      { wallet: { id: c.walletId, customerId: c.customerId, currency: 'USD', balance: '29.75' }, recharge: { id: pending!.id, amount: '20', entryId: expect.any(String), paymentReference: pi.id, createdAt: '2026-05-11T09:00:00.000Z' } },
    ]);

    // The event arrives after all: nothing more is topped up, and nothing is left to ask about.
    expect((await stripe.finish(pi.id, 'succeeded')).status).toBe(200);
    expect(await topUps(c.walletId)).toHaveLength(2);
    expect(await events('wallet.recharge_succeeded', { walletId: c.walletId })).toHaveLength(1);
    expect(await check()).toBe(0);
    expect(reads()).toHaveLength(2);

    // No longer in flight, the recharge no longer blocks the wallet's next one: 80 events take 29.75 to 9.75.
    await use(c.customerId, 80);
    expect(await chargeDue()).toBe(1);
    const both = await recharges(c.walletId);
    expect(both.map((r) => r.status)).toEqual(['SUCCEEDED', 'IN_FLIGHT']);
    expect(intentsFor(c.walletId).map((r) => r.headers['idempotency-key'])).toEqual(both.map((r) => `recharge:${r.id}`));
    const next = stripe.created().find((p) => p.metadata.rechargeId === both[1]!.id)!;
    expect((await stripe.finish(next.id, 'succeeded')).status).toBe(200);
    expect(await wallet(c.walletId)).toMatchObject({ balance: '29.75' });
  });

  it('with policy NONE, a decline leaves the customer active and the wallet as it is', async () => {
    const c = await prepaid('12', 'pm_card_chargeDeclined', { threshold: '10', amount: '20' });
    await use(c.customerId, 10);
    expect(await chargeDue()).toBe(1);
    expect((await recharges(c.walletId)).map((r) => [r.status, r.failure_code])).toEqual([['FAILED', 'generic_decline']]);
    expect((await t.admin.ok(CustomerStandingDocument, { id: c.customerId })).customer).toMatchObject({ suspendedAt: null });
    expect(await events('wallet.recharge_failed', { walletId: c.walletId })).toHaveLength(1);
    expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `still-${seq++}`) })).recordUsage.status).toBe('ACCEPTED');
  });
});

describe('reinstatement after a failed auto-recharge', () => {
  const standing = async (customerId: string) => (await t.admin.ok(CustomerStandingDocument, { id: customerId })).customer!;
  const topUp = (walletId: string, amount: string, idempotencyKey = `hand-${seq++}`) => t.admin.ok(TopUpWalletDocument, { input: { walletId, amount, idempotencyKey } });

  it('reinstates the customer, in the transaction of the top-up (or grant) that brings the wallet back to its threshold, with customer.reinstated and the live push', async () => {
    clock.set('2026-05-12T09:00:00Z');
    const c = await prepaid('12.25', 'pm_card_chargeDeclined', { threshold: '10', amount: '20', onFailure: 'SUSPEND' });
    const pushed = new Watch(live.open(t.wsUrl, t.adminKey), CustomerStandingChangedDocument, { customerId: c.customerId }, 'customerStandingChanged');
    await sleep(300);
    await use(c.customerId, 9);
    await use(c.customerId, 1);
    expect(await chargeDue()).toBe(1);
    const reason = `the auto-recharge of wallet ${c.walletId} failed: generic_decline`;
    expect(await standing(c.customerId)).toMatchObject({ suspendedAt: '2026-05-12T09:00:00.000Z', suspensionReason: reason });
    expect(await pushed.next()).toMatchObject({ customerId: c.customerId, status: 'SUSPENDED', reason });

    // A grant of 0.10 leaves the available balance at 9.85, below the threshold of 10: still suspended.
    clock.set('2026-05-12T10:00:00Z');
    await t.admin.ok(GrantCreditsDocument, { input: { walletId: c.walletId, amount: '0.10', idempotencyKey: `grant-${seq++}` } });
    expect(await standing(c.customerId)).toMatchObject({ suspendedAt: '2026-05-12T09:00:00.000Z' });
    expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `still-out-${seq++}`) })).recordUsage).toMatchObject({ status: 'REFUSED', refusal: { code: 'ACCOUNT_SUSPENDED' } });

    // topUpWallet of 0.15 brings it to 10.00, the threshold: reinstated in the top-up's transaction.
    clock.set('2026-05-12T11:00:00Z');
    const key = `back-${seq++}`;
    await topUp(c.walletId, '0.15', key);
    expect(await standing(c.customerId)).toMatchObject({ suspendedAt: null, suspensionReason: null });
    expect(await pushed.next()).toMatchObject({ customerId: c.customerId, status: 'ACTIVE', reason: null, at: '2026-05-12T11:00:00.000Z' });
    expect(await events('customer.reinstated', { customerId: c.customerId })).toEqual([{ customer: { id: c.customerId, externalId: c.externalId }, reinstatedAt: '2026-05-12T11:00:00.000Z' }]);
    expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `back-in-${seq++}`) })).recordUsage.status).toBe('ACCEPTED');
    // The same top-up again is a replay: nothing more is announced.
    await topUp(c.walletId, '0.15', key);
    expect(await events('customer.reinstated', { customerId: c.customerId })).toHaveLength(1);
    // The card still declines: the event that crossed the threshold again asked for a recharge, whose failure suspends again.
    expect(await chargeDue()).toBe(1);
    expect(intentsFor(c.walletId)).toHaveLength(2);
    expect(await standing(c.customerId)).toMatchObject({ suspendedAt: '2026-05-12T11:00:00.000Z', suspensionReason: reason });
    expect(await pushed.next()).toMatchObject({ customerId: c.customerId, status: 'SUSPENDED' });
    pushed.close();
  });

  it('leaves a customer suspended while an unpaid invoice also suspends it: money back at the threshold lifts the recharge\'s cause only, and paying the invoice reinstates it', async () => {
    clock.set('2026-05-13T09:00:00Z');
    await t.admin.ok(CreateDunningPlanDocument, {
      input: { code: 'ar-suspend', name: 'ar-suspend', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '5', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'ai-price-book' }], dunning: { retryDays: [], policy: 'SUSPEND' } },
    });
    const externalId = `ar-inv-${process.pid}-${seq++}`;
    const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD' } })).createCustomer;
    await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: 'ar-suspend', startsAt: '2026-04-01T00:00:00Z', baseFeeTiming: 'ARREARS' } });
    const { wallet: w } = (await t.admin.ok(CreateWalletDocument, { input: { customerId: customer.id } })).createWallet;
    await topUp(w.id, '12.25');
    await t.admin.ok(SetCustomerPaymentMethodDocument, { input: { customerId: customer.id, provider: 'STRIPE', stripeCustomerId: `cus_I${seq++}x${process.pid}`, stripePaymentMethodId: 'pm_card_chargeDeclined' } });
    await t.admin.ok(SetWalletAutoRechargeDocument, { input: { walletId: w.id, threshold: '10', amount: '20', onFailure: 'SUSPEND' } });

    // The recharge fails and suspends; then April's invoice (the base fee of 5.00) fails with no retry day left.
    await use(customer.id, 10);
    expect(await chargeDue()).toBe(1);
    expect(await standing(customer.id)).toMatchObject({ suspendedAt: '2026-05-13T09:00:00.000Z' });
    await t.app.services.invoices.closeCustomer(customer.id, clock.now());
    const april = (await t.admin.ok(InvoicesDocument, { customerId: customer.id, first: 5 })).invoices.nodes.find((i) => i.periodStart === '2026-04-01T00:00:00.000Z')!;
    expect(april).toMatchObject({ status: 'FINALIZED', amountDue: '5.00' });
    const failed = await t.admin.ok(RecordPaymentAttemptDocument, { input: { invoiceId: april.id, outcome: 'FAILED', failureReason: 'declined', idempotencyKey: `ar-inv-${seq++}` } });
    expect(failed.recordPaymentAttempt.invoice.status).toBe('UNCOLLECTIBLE');

    // Back above the threshold: the failed recharge no longer holds the customer, the invoice does.
    clock.set('2026-05-13T10:00:00Z');
    await topUp(w.id, '5');
    expect(await standing(customer.id)).toMatchObject({ suspendedAt: '2026-05-13T09:00:00.000Z' });
    expect(await events('customer.reinstated', { customerId: customer.id })).toEqual([]);

    // Paying the invoice leaves nothing that suspends.
    clock.set('2026-05-13T11:00:00Z');
    await t.admin.ok(RecordPaymentAttemptDocument, { input: { invoiceId: april.id, outcome: 'SUCCEEDED', reference: 'wire-5', idempotencyKey: `ar-inv-${seq++}` } });
    expect(await standing(customer.id)).toMatchObject({ suspendedAt: null });
    expect(await events('customer.reinstated', { customerId: customer.id })).toEqual([{ customer: { id: customer.id, externalId }, reinstatedAt: '2026-05-13T11:00:00.000Z' }]);
  });
});

describe('auto-recharge with MANUAL collection', () => {
  it('asks the integrator once per crossing (wallet.top_up_requested) and charges nothing', async () => {
    const c = await prepaid('12.25', null, { threshold: '10', amount: '20' });
    await use(c.customerId, 9);
    await use(c.customerId, 1);
    expect(await chargeDue()).toBe(0);
    expect(await recharges(c.walletId)).toEqual([]);
    expect(intentsFor(c.walletId)).toEqual([]);
    const requested = await events('wallet.top_up_requested', { walletId: c.walletId });
    expect(requested.map((d) => [d.alert.definitionId, d.alert.value, d.alert.topUpAmount])).toEqual([[c.definitionId, '9.75', '20']]);
  });
});

describe('auto-recharge settings', () => {
  it('refuses settings a charge cannot follow, and keeps the definition to setWalletAutoRecharge', async () => {
    const c = await prepaid('30', 'pm_card_visa', { threshold: '10', amount: '20' });
    const set = (input: Record<string, unknown>) => t.admin.request(SetWalletAutoRechargeDocument, { input: { walletId: c.walletId, threshold: '10', ...input } as never });
    expect(problem(await set({ amount: '20', target: '50' }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['amount'] });
    expect(problem(await set({}))).toEqual({ code: 'VALIDATION_FAILED', paths: ['amount'] });
    expect(problem(await set({ amount: '20.005' }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['amount'] });
    expect(problem(await set({ target: '9' }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['target'] });
    expect(problem(await t.admin.request(UpdateAlertDefinitionDocument, { input: { id: c.definitionId, threshold: '1' } }))).toEqual({ code: 'VALIDATION_FAILED', paths: ['id'] });
    const off = await t.admin.ok(SetWalletAutoRechargeDocument, { input: { walletId: c.walletId, threshold: '15', target: '40', enabled: false, onFailure: 'SUSPEND' } });
    expect(off.setWalletAutoRecharge.autoRecharge).toEqual({ walletId: c.walletId, enabled: false, threshold: '15', amount: null, target: '40', onFailure: 'SUSPEND', definitionId: c.definitionId });
    // Disabled: a crossing asks for nothing.
    await use(c.customerId, 70);
    expect(await recharges(c.walletId)).toEqual([]);
  });
});
