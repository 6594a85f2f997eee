import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordUsageBatchDocument, RecordUsageDocument, WalletDocument } from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, ledgerState, setupCatalogue } from '../support/usage-fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await setupCatalogue(t);
});
afterAll(() => t.close());

describe('recordUsage', () => {
  it('prices, charges and stores an event with its lines, version and the balance after', async () => {
    const c = await fundedCustomer(t, '10');
    const r = (await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'first') })).recordUsage;
    expect(r).toMatchObject({ status: 'ACCEPTED', replayed: false, refusal: null, wallet: { id: c.walletId, balance: '9.75', available: '9.75' } });
    expect(r.event).toMatchObject({ amount: '0.25', charged: '0.25', currency: 'USD', ruleSet: { key: 'ai-price-book', version: 2 }, firedRules: ['gpt-4o input tokens'] });
    expect(r.event!.lines).toEqual([{ componentId: 'gpt-4o-input', amount: '0.25', charged: '0.25', tiers: [{ tier: 1, quantity: '100000', amount: '0.25' }] }]);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ balance: '9750000000', entries: '9750000000', usage: '-250000000', events: '1', charged: '250000000' });
    const outbox = await t.app.sql.query<{ n: number }>(`select count(*)::int as n from outbox where customer_id = $1 and topic = 'usage.committed'`, [c.customerId]);
    expect(outbox).toEqual([{ n: 1 }]);
  });

  it('refuses when the wallet cannot pay, before any work, and charges nothing', async () => {
    const c = await fundedCustomer(t, '0.2');
    const r = (await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'too-much') })).recordUsage;
    expect(r).toMatchObject({ status: 'REFUSED', event: null, refusal: { code: 'WALLET_INSUFFICIENT_FUNDS', available: '0.2' } });
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ balance: '200000000', events: '0' });
  });

  it('refuses what a pricing rule refuses, with the rule code', async () => {
    const c = await fundedCustomer(t, '10');
    const r = (await t.admin.ok(RecordUsageDocument, { input: { ...gpt4oInput(c.customerId, 'old'), dimensions: { model: 'gpt-3.5-turbo', tokenType: 'input' } } })).recordUsage;
    expect(r.refusal).toMatchObject({ code: 'RULE_REFUSED', ruleCode: 'MODEL_RETIRED' });
  });

  it('lets SOFT wallets go below zero, flagged, and OVERDRAFT wallets down to their limit', async () => {
    const soft = await fundedCustomer(t, '0.1', { limitMode: 'SOFT' });
    const s = (await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(soft.customerId, 's') })).recordUsage;
    expect(s).toMatchObject({ status: 'ACCEPTED', event: { softLimitExceeded: true }, wallet: { balance: '-0.15' } });
    const od = await fundedCustomer(t, '0.1', { limitMode: 'OVERDRAFT', overdraftLimit: '0.2' });
    expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(od.customerId, 'o1') })).recordUsage.wallet?.balance).toBe('-0.15');
    expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(od.customerId, 'o2') })).recordUsage.refusal?.code).toBe('WALLET_INSUFFICIENT_FUNDS');
  });

  it('holds a postpaid customer to a spending cap per period', async () => {
    const c = await fundedCustomer(t, null, { spendingCap: '0.5' });
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `p${i}`) })).recordUsage);
    expect(results.map((r) => r.status)).toEqual(['ACCEPTED', 'ACCEPTED', 'REFUSED']);
    expect(results[2]!.refusal?.code).toBe('SPENDING_LIMIT_REACHED');
    expect(results[0]!.wallet).toBeNull();
  });

  it('refuses bad input with a clear code and changes nothing', async () => {
    const c = await fundedCustomer(t, '10');
    const bad = [
      { quantity: '-5' },
      { quantity: '0' },
      { quantity: '1.0000001' },
      { quantity: '10000000000000' },
      { dimensions: { model: 'gpt-4o', tokenType: 'input', colour: 'red' } },
      { dimensions: JSON.parse('{"__proto__": "x", "model": "gpt-4o"}') },
      { dimensions: { model: 'x'.repeat(201), tokenType: 'input' } },
      { dimensions: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`d${i}`, 'v'])) },
      { dimensions: { model: 5 } },
      { timestamp: '2020-01-01T00:00:00Z' },
      { timestamp: new Date(Date.now() + 3_600_000).toISOString() },
      { idempotencyKey: '' },
    ];
    for (const change of bad) {
      const result = await t.admin.request(RecordUsageDocument, { input: { ...gpt4oInput(c.customerId, 'bad'), ...change } });
      expect(codesOf(result), JSON.stringify(change)).toEqual(['VALIDATION_FAILED']);
    }
    expect(codesOf(await t.admin.request(RecordUsageDocument, { input: { ...gpt4oInput(c.customerId, 'bad'), quantity: 'lots' } }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(RecordUsageDocument, { input: { ...gpt4oInput(c.customerId, 'bad'), meterCode: 'nope' } }))).toEqual(['NOT_FOUND']);
    expect(codesOf(await t.admin.request(RecordUsageDocument, { input: { ...gpt4oInput('00000000-0000-7000-8000-000000000000', 'bad') } }))).toEqual(['NOT_FOUND']);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ balance: '10000000000', events: '0' });
  });

  it('refuses a reused idempotency key with different input', async () => {
    const c = await fundedCustomer(t, '10');
    await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'same') });
    const again = await t.admin.request(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'same', '200000') });
    expect(codesOf(again)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '1', charged: '250000000' });
  });
});

/** The file's server on one Redis; the concurrency tests also run on the run's Redis Cluster. */
const onRedis = () => t;

describe.each(['redis', 'cluster'] as const)('concurrency (%s)', (store) => {
  let t: TestApp;
  beforeAll(async () => {
    if (store === 'redis') t = onRedis();
    else {
      t = await startTestApp({ store });
      await setupCatalogue(t);
    }
  });
  afterAll(async () => {
    if (store === 'cluster') await t?.close();
  });

  it('accepts exactly k of N concurrent events when the wallet is funded for k, and never goes below zero', async () => {
    const c = await fundedCustomer(t, '5'); // 20 events of 0.25
    const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `k-${i}`) })));
    expect(replies.filter((r) => r.recordUsage.status === 'ACCEPTED')).toHaveLength(20);
    expect(replies.filter((r) => r.recordUsage.status !== 'ACCEPTED').every((r) => r.recordUsage.refusal?.code === 'WALLET_INSUFFICIENT_FUNDS')).toBe(true);
    const balances = replies.flatMap((r) => (r.recordUsage.wallet ? [Number(r.recordUsage.wallet.balance)] : []));
    expect(Math.min(...balances)).toBe(0);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ balance: '0', entries: '0', events: '20', charged: '5000000000' });
  });

  it('charges an event sent many times at once, then again later, exactly once, with identical replies', async () => {
    const c = await fundedCustomer(t, '10');
    const input = gpt4oInput(c.customerId, 'dup');
    const replies = await Promise.all(Array.from({ length: 30 }, () => t.admin.ok(RecordUsageDocument, { input })));
    const later = await t.admin.ok(RecordUsageDocument, { input });
    const events = [...replies, later].map((r) => JSON.stringify({ event: r.recordUsage.event, wallet: r.recordUsage.wallet }));
    expect(new Set(events).size).toBe(1);
    expect(replies.filter((r) => !r.recordUsage.replayed)).toHaveLength(1);
    expect(later.recordUsage.replayed).toBe(true);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '1', charged: '250000000', balance: '9750000000' });
  });

  it('never charges part of an all-or-nothing batch, even when batches race for the money', async () => {
    const c = await fundedCustomer(t, '3'); // 12 events of 0.25; each batch wants 5
    const batch = (b: number) =>
      t.admin.ok(RecordUsageBatchDocument, { input: { atomic: true, events: Array.from({ length: 5 }, (_, i) => gpt4oInput(c.customerId, `b${b}-${i}`)) } });
    const replies = await Promise.all(Array.from({ length: 8 }, (_, b) => batch(b)));
    for (const r of replies) {
      const statuses = new Set(r.recordUsageBatch.results.map((x) => x.status));
      expect(r.recordUsageBatch.allAccepted ? ['ACCEPTED'] : [...statuses].sort()).toEqual(r.recordUsageBatch.allAccepted ? ['ACCEPTED'] : ['NOT_CHARGED', 'REFUSED']);
    }
    const whole = replies.filter((r) => r.recordUsageBatch.allAccepted).length;
    expect(whole).toBe(2);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: String(whole * 5), charged: String(BigInt(whole * 5) * 250_000_000n), balance: '500000000' });
  });

  it('prices graduated usage exactly under concurrency: the period adds up to its aggregate', async () => {
    const c = await fundedCustomer(t, '1000', { plan: 'hybrid' }); // 1M free, then 4.00 per million
    const sizes = Array.from({ length: 40 }, (_, i) => 20_000 + i * 1_000); // 1.58M tokens in all
    await Promise.all(sizes.map((q, i) => t.admin.ok(RecordUsageDocument, { input: { customerId: c.customerId, meterCode: 'llm_tokens', quantity: String(q), idempotencyKey: `g-${i}` } })));
    const total = sizes.reduce((a, b) => a + b, 0);
    const expected = BigInt(total - 1_000_000) * 4_000n; // ledger units: 4.00 per 1M = 4000 units per token
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '40', charged: expected.toString() });
  });
});

describe('recordUsageBatch', () => {
  it('answers one result per event, in order, each standing alone', async () => {
    const c = await fundedCustomer(t, '0.5');
    const events = [
      gpt4oInput(c.customerId, 'x1'),
      { ...gpt4oInput(c.customerId, 'x2'), quantity: '-1' },
      gpt4oInput(c.customerId, 'x3'),
      gpt4oInput(c.customerId, 'x4'),
      { ...gpt4oInput(c.customerId, 'x5'), meterCode: 'unknown' },
    ];
    const r = (await t.admin.ok(RecordUsageBatchDocument, { input: { events, atomic: false } })).recordUsageBatch;
    expect(r.results.map((x) => [x.index, x.status, x.refusal?.code ?? null])).toEqual([
      [0, 'ACCEPTED', null],
      [1, 'ERROR', 'VALIDATION_FAILED'],
      [2, 'ACCEPTED', null],
      [3, 'REFUSED', 'WALLET_INSUFFICIENT_FUNDS'],
      [4, 'ERROR', 'NOT_FOUND'],
    ]);
    expect(r).toMatchObject({ acceptedCount: 2, allAccepted: false, failedIndex: null });
  });

  it('says which event sank an atomic batch, and charges none', async () => {
    const c = await fundedCustomer(t, '10');
    const events = [gpt4oInput(c.customerId, 'a1'), { ...gpt4oInput(c.customerId, 'a2'), dimensions: { model: 'gpt-3.5-turbo', tokenType: 'input' } }, gpt4oInput(c.customerId, 'a3')];
    const r = (await t.admin.ok(RecordUsageBatchDocument, { input: { events, atomic: true } })).recordUsageBatch;
    expect(r).toMatchObject({ acceptedCount: 0, allAccepted: false, failedIndex: 1 });
    expect(r.results.map((x) => x.status)).toEqual(['NOT_CHARGED', 'REFUSED', 'NOT_CHARGED']);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '0', balance: '10000000000' });
    const retry = (await t.admin.ok(RecordUsageBatchDocument, { input: { events: [events[0]!, events[2]!], atomic: true } })).recordUsageBatch;
    expect(retry.allAccepted).toBe(true);
  });

  it('takes up to 1,000 events and refuses more', async () => {
    const c = await fundedCustomer(t, '1000');
    const events = Array.from({ length: 1000 }, (_, i) => gpt4oInput(c.customerId, `big-${i}`, '1000'));
    const r = (await t.admin.ok(RecordUsageBatchDocument, { input: { events, atomic: true } })).recordUsageBatch;
    expect(r.acceptedCount).toBe(1000);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '1000', charged: String(1000n * 2_500_000n) });
    const tooMany = await t.admin.request(RecordUsageBatchDocument, { input: { events: [...events, gpt4oInput(c.customerId, 'one-more')], atomic: false } });
    expect(codesOf(tooMany)).toEqual(['VALIDATION_FAILED']);
  });

  it('shows holds in flight as held, and nothing held once settled', async () => {
    const c = await fundedCustomer(t, '10');
    await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'h1') });
    const w = (await t.admin.ok(WalletDocument, { id: c.walletId! })).wallet!;
    expect(w).toMatchObject({ balance: '9.75', held: '0', available: '9.75' });
  });
});

describe('on the in-process store (the embedded default)', () => {
  let m: TestApp;
  beforeAll(async () => {
    m = await startTestApp({ store: 'memory' });
    await setupCatalogue(m);
  });
  afterAll(() => m.close());

  it('accepts exactly k of N concurrent events and charges duplicates once', async () => {
    const c = await fundedCustomer(m, '2.5'); // 10 events
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => m.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `m-${i % 15}`) })));
    const accepted = new Set(replies.filter((r) => r.recordUsage.status === 'ACCEPTED').map((r) => r.recordUsage.event!.id));
    expect(accepted.size).toBe(10);
    expect(await ledgerState(m, c.walletId!)).toMatchObject({ balance: '0', events: '10' });
    expect((await m.app.services.reconciler.run(false)).drifts).toEqual([]);
  });
});
