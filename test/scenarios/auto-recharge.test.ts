import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import {
  CustomerStandingDocument,
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

beforeAll(async () => {
  stripe = await LocalStripeApi.start();
  t = await startTestApp({ clock, env: { ...stripe.env, RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', DUNNING_INTERVAL_MS: '0', WALLET_RECHARGE_POLL_MS: '0' } });
  stripe.webhookUrl = t.url.replace('/graphql', '/v1/providers/stripe/webhook');
  await setupCatalogue(t);
});

afterAll(async () => {
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
  expect(results.filter((r) => !r.recordUsage.accepted).map((r) => r.recordUsage.refusal?.code)).toEqual([]);
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
    expect(refused.recordUsage).toMatchObject({ accepted: false, refusal: { code: 'ACCOUNT_SUSPENDED' } });
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
    expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `reinstated-${seq++}`) })).recordUsage.accepted).toBe(true);
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

  it('with policy NONE, a decline leaves the customer active and the wallet as it is', async () => {
    const c = await prepaid('12', 'pm_card_chargeDeclined', { threshold: '10', amount: '20' });
    await use(c.customerId, 10);
    expect(await chargeDue()).toBe(1);
    expect((await recharges(c.walletId)).map((r) => [r.status, r.failure_code])).toEqual([['FAILED', 'generic_decline']]);
    expect((await t.admin.ok(CustomerStandingDocument, { id: c.customerId })).customer).toMatchObject({ suspendedAt: null });
    expect(await events('wallet.recharge_failed', { walletId: c.walletId })).toHaveLength(1);
    expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `still-${seq++}`) })).recordUsage.accepted).toBe(true);
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
