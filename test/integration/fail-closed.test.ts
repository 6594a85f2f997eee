import { mkdir, mkdtemp, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthorizeUsageDocument,
  CreatePlanDocument,
  PreviewChargeDocument,
  RecordUsageBatchDocument,
  RecordUsageDocument,
  ReservationDocument,
  SettleReservationDocument,
  WalletDocument,
} from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, ledgerState, setupCatalogue } from '../support/usage-fixtures.js';

/**
 * Nothing is let through at $0 by accident: an event no charge prices is refused, a settle
 * prices what was authorised, and a price that is legitimately zero is still accepted.
 */
let t: TestApp;
let rulesDir: string;

const charge = (name: string, conditions: unknown[], params: Record<string, unknown>) => ({ name, conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: 'llm_tokens' }, ...conditions] }, event: { type: 'charge', params } });
const model = (m: string) => ({ fact: 'event', path: '$.dimensions.model', operator: 'equal', value: m });

/** Unmatched events free: only gpt-4o is priced; the rest is accepted at zero on purpose. */
const FREE_UNMATCHED = { key: 'free-rest', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', currency: 'USD', unmatched: 'free', rules: [charge('gpt-4o', [model('gpt-4o')], { id: 'gpt-4o', model: 'per_unit', unitPrice: '1', per: '1000000' })] };
/** Small jobs only: events above 1,000,000 tokens are priced by nothing. */
const SMALL_ONLY = {
  key: 'small-only',
  version: 1,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'USD',
  rules: [charge('small jobs', [{ fact: 'event', path: '$.quantity', operator: 'decimalLessThanInclusive', value: '1000000' }], { id: 'small', model: 'per_unit', unitPrice: '10', per: '1000000' })],
};
/** Legitimately free: a first tier at zero, and a 100% discount for a model. */
const FREE_TIER = {
  key: 'free-tier',
  version: 1,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'USD',
  rules: [
    charge('tokens', [], { id: 'tokens', model: 'graduated', tiers: [{ upTo: '1000', unitPrice: '0' }, { upTo: null, unitPrice: '0.01' }] }),
    { name: 'promo', conditions: { all: [model('promo')] }, event: { type: 'adjustment', params: { id: 'promo', kind: 'discount', percent: '100' } } },
  ],
};

beforeAll(async () => {
  rulesDir = await mkdtemp(path.join(tmpdir(), 'fail-closed-rules-'));
  await cp(path.resolve('rules'), rulesDir, { recursive: true });
  for (const r of [FREE_UNMATCHED, SMALL_ONLY, FREE_TIER]) {
    await mkdir(path.join(rulesDir, r.key));
    await writeFile(path.join(rulesDir, r.key, 'v1.json'), JSON.stringify(r, null, 2));
  }
  t = await startTestApp({ env: { RULES_DIR: rulesDir, RULES_WATCH: 'false', SWEEP_INTERVAL_MS: '0' } });
  await setupCatalogue(t);
  for (const key of ['free-rest', 'small-only', 'free-tier']) {
    await t.admin.ok(CreatePlanDocument, { input: { code: key, name: key, currency: 'USD', billingInterval: 'MONTHLY', baseFee: '0', charges: [{ meterCode: 'llm_tokens', ruleSetKey: key }] } });
  }
});
afterAll(async () => {
  await t?.close();
  await rm(rulesDir, { recursive: true, force: true });
});

const record = (customerId: string, key: string, dimensions: Record<string, string>, quantity = '1000') =>
  t.admin.ok(RecordUsageDocument, { input: { customerId, meterCode: 'llm_tokens', quantity, dimensions, idempotencyKey: key } });

describe('an event that no charge prices', () => {
  it('is refused with UNPRICED_EVENT naming the meter, the dimensions and the rule-set version; nothing is charged', async () => {
    const c = await fundedCustomer(t, '10');
    const unknown = (await record(c.customerId, 'gpt-5', { model: 'gpt-5', tokenType: 'output' })).recordUsage;
    expect(unknown).toMatchObject({ status: 'REFUSED', event: null, refusal: { code: 'UNPRICED_EVENT' } });
    expect(unknown.refusal!.message).toMatch(/^no charge of rule set ai-price-book v\d+ prices this event \(meter llm_tokens, dimensions model="gpt-5", tokenType="output"\)$/);
    const noModel = (await record(c.customerId, 'no-model', { tokenType: 'output' })).recordUsage;
    expect(noModel).toMatchObject({ status: 'REFUSED', refusal: { code: 'UNPRICED_EVENT' } });
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '0', charged: '0', balance: '10000000000' });
    expect((await t.admin.ok(WalletDocument, { id: c.walletId! })).wallet).toMatchObject({ held: '0', available: '10' });
  });

  it('is refused in a batch on its own, and fails an atomic batch as a whole', async () => {
    const c = await fundedCustomer(t, '10');
    const events = [gpt4oInput(c.customerId, 'b-1'), { ...gpt4oInput(c.customerId, 'b-2'), dimensions: { model: 'gpt-5', tokenType: 'input' } }, gpt4oInput(c.customerId, 'b-3')];
    const loose = (await t.admin.ok(RecordUsageBatchDocument, { input: { events, atomic: false } })).recordUsageBatch;
    expect(loose.results.map((r) => [r.status, r.refusal?.code ?? null])).toEqual([['ACCEPTED', null], ['REFUSED', 'UNPRICED_EVENT'], ['ACCEPTED', null]]);
    const atomic = (await t.admin.ok(RecordUsageBatchDocument, { input: { events: events.map((e) => ({ ...e, idempotencyKey: `a-${e.idempotencyKey}` })), atomic: true } })).recordUsageBatch;
    expect(atomic).toMatchObject({ acceptedCount: 0, failedIndex: 1 });
    expect(atomic.results.map((r) => r.status)).toEqual(['NOT_CHARGED', 'REFUSED', 'NOT_CHARGED']);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '2', charged: '500000000' });
  });

  it('cannot be authorised, nor previewed at zero', async () => {
    const c = await fundedCustomer(t, '10');
    for (const estimate of [{ estimatedQuantity: '1000' }, { estimatedAmount: '1' }]) {
      const a = await t.admin.ok(AuthorizeUsageDocument, { input: { customerId: c.customerId, meterCode: 'llm_tokens', dimensions: { model: 'gpt-5', tokenType: 'input' }, idempotencyKey: `auth-${Object.keys(estimate)[0]}`, ...estimate } });
      expect(a.authorizeUsage).toMatchObject({ status: 'REFUSED', reservation: null, refusal: { code: 'UNPRICED_EVENT' } });
    }
    expect((await t.admin.ok(WalletDocument, { id: c.walletId! })).wallet).toMatchObject({ held: '0' });
    const preview = await t.admin.ok(PreviewChargeDocument, { input: { ruleSetKey: 'ai-price-book', meterCode: 'llm_tokens', quantity: '1000', dimensions: { model: 'gpt-5' }, timestamp: '2026-03-01T00:00:00Z' } });
    expect(preview.previewCharge).toMatchObject({ refusal: { code: 'UNPRICED_EVENT' }, lines: [] });
    const aggregate = await t.admin.ok(PreviewChargeDocument, { input: { ruleSetKey: 'ai-price-book', meterCode: 'llm_tokens', quantity: '1000', dimensions: { model: 'gpt-5' }, timestamp: '2026-03-01T00:00:00Z', aggregate: true, events: 3 } });
    expect(aggregate.previewCharge.refusal?.code).toBe('UNPRICED_EVENT');
  });

  it('is refused at settlement when the actual usage is priced by nothing, keeping the reservation open', async () => {
    const c = await fundedCustomer(t, '10', { plan: 'small-only' });
    const a = (await t.admin.ok(AuthorizeUsageDocument, { input: { customerId: c.customerId, meterCode: 'llm_tokens', estimatedQuantity: '500000', dimensions: { model: 'x' }, idempotencyKey: 'auth-small' } })).authorizeUsage;
    expect(a.reservation).toMatchObject({ amount: '5', status: 'OPEN' });
    const s = await t.admin.ok(SettleReservationDocument, { input: { reservationId: a.reservation!.id, quantity: '2000000', idempotencyKey: 'settle-big' } });
    expect(s.settleReservation).toMatchObject({ status: 'REFUSED', event: null, refusal: { code: 'UNPRICED_EVENT' }, reservation: { status: 'OPEN' } });
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '0' });
  });

  it('is accepted at zero when the rule set says unmatched events are free', async () => {
    const c = await fundedCustomer(t, '10', { plan: 'free-rest' });
    const r = (await record(c.customerId, 'free-rest', { model: 'other' })).recordUsage;
    expect(r).toMatchObject({ status: 'ACCEPTED', event: { amount: '0', charged: '0' } });
  });

  it('a price that is legitimately zero (a free tier, a 100% discount) is accepted', async () => {
    const c = await fundedCustomer(t, '10', { plan: 'free-tier' });
    expect((await record(c.customerId, 'tier-free', { model: 'm' }, '500')).recordUsage).toMatchObject({ status: 'ACCEPTED', event: { charged: '0' } });
    expect((await record(c.customerId, 'promo', { model: 'promo' }, '5000')).recordUsage).toMatchObject({ status: 'ACCEPTED', event: { charged: '0' } });
    // The discounted tokens still count towards the tiers: 500 + 5,000 + 600 is 5,100 past the free 1,000.
    expect((await record(c.customerId, 'paid', { model: 'm' }, '600')).recordUsage).toMatchObject({ status: 'ACCEPTED', event: { charged: '6' } });
  });
});

describe('settling an authorisation prices what was authorised', () => {
  const authorize = (customerId: string, key: string) =>
    t.admin.ok(AuthorizeUsageDocument, { input: { customerId, meterCode: 'llm_tokens', estimatedQuantity: '100000', dimensions: { model: 'claude-sonnet-4', tokenType: 'output' }, idempotencyKey: key } });

  it('keeps the dimensions on the reservation and prices a settle that leaves them out with them', async () => {
    const c = await fundedCustomer(t, '10');
    const a = (await authorize(c.customerId, 'auth-dims')).authorizeUsage.reservation!;
    // claude-sonnet-4 output: 15 per million; 100,000 tokens hold 1.5.
    expect(a).toMatchObject({ amount: '1.5', dimensions: { model: 'claude-sonnet-4', tokenType: 'output' }, estimatedQuantity: '100000' });
    const s = (await t.admin.ok(SettleReservationDocument, { input: { reservationId: a.id, quantity: '80000', idempotencyKey: 'settle-no-dims' } })).settleReservation;
    expect(s).toMatchObject({ status: 'ACCEPTED', event: { charged: '1.2', dimensions: { model: 'claude-sonnet-4', tokenType: 'output' } }, reservation: { status: 'SETTLED' } });
    expect((await t.admin.ok(WalletDocument, { id: c.walletId! })).wallet).toMatchObject({ balance: '8.8', held: '0' });
    expect((await t.admin.ok(ReservationDocument, { id: a.id })).reservation).toMatchObject({ dimensions: { model: 'claude-sonnet-4', tokenType: 'output' } });
  });

  it('refuses a settle naming other dimensions with VALIDATION_FAILED, changing nothing', async () => {
    const c = await fundedCustomer(t, '10');
    const a = (await authorize(c.customerId, 'auth-other')).authorizeUsage.reservation!;
    for (const dimensions of [{ model: 'gpt-4o-mini', tokenType: 'output' }, { model: 'claude-sonnet-4' }, { model: 'claude-sonnet-4', tokenType: 'output', extra: 'x' }]) {
      const r = await t.admin.request(SettleReservationDocument, { input: { reservationId: a.id, quantity: '80000', dimensions, idempotencyKey: `settle-${JSON.stringify(dimensions)}` } });
      expect(codesOf(r)).toEqual(['VALIDATION_FAILED']);
    }
    expect((await t.admin.ok(ReservationDocument, { id: a.id })).reservation).toMatchObject({ status: 'OPEN' });
    expect((await t.admin.ok(WalletDocument, { id: c.walletId! })).wallet).toMatchObject({ balance: '10', held: '1.5' });
    // The same dimensions again are fine, and a retry without them is the same request.
    const same = { reservationId: a.id, quantity: '80000', dimensions: { tokenType: 'output', model: 'claude-sonnet-4' }, idempotencyKey: 'settle-same' };
    expect((await t.admin.ok(SettleReservationDocument, { input: same })).settleReservation).toMatchObject({ status: 'ACCEPTED', event: { charged: '1.2' } });
    const retry = (await t.admin.ok(SettleReservationDocument, { input: { ...same, dimensions: null } })).settleReservation;
    expect(retry).toMatchObject({ status: 'ACCEPTED', replayed: true, event: { charged: '1.2' } });
  });

  it('keeps the authorised values, and takes the actual figures a settle gives for them', async () => {
    const c = await fundedCustomer(t, '10');
    const a = (
      await t.admin.ok(AuthorizeUsageDocument, {
        input: { customerId: c.customerId, meterCode: 'llm_tokens', estimatedQuantity: '1000', dimensions: { model: 'llama-3.1-405b', tokenType: 'output' }, values: { providerCost: '2' }, idempotencyKey: 'auth-cost' },
      })
    ).authorizeUsage.reservation!;
    expect(a).toMatchObject({ amount: '2.5', values: { providerCost: '2' } });
    const s = (await t.admin.ok(SettleReservationDocument, { input: { reservationId: a.id, quantity: '900', values: { providerCost: '1.6' }, idempotencyKey: 'settle-cost' } })).settleReservation;
    expect(s).toMatchObject({ status: 'ACCEPTED', event: { charged: '2' } });
  });
});
