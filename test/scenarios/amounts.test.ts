import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import { Decimal } from '../../src/shared/money/decimal.js';
import {
  CreateCustomerDocument,
  CreateMeterDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  CreateTaxRateDocument,
  CreateWalletDocument,
  CurrentPeriodDocument,
  InvoicesDocument,
  RecordUsageDocument,
  TopUpWalletDocument,
  type InvoiceFieldsFragment,
} from '../generated/graphql.js';
import { startTestApp, deleteRedisKeys, type TestApp } from '../support/test-app.js';

/**
 * How amounts are computed and rounded, told as billing stories with exact cents: every meter
 * type priced by its aggregation, rounded lines that add up (prepaid, true-ups), adjustments
 * that show, and the small figures a customer reads. Calendar months in UTC, one day of grace.
 */
const clock = new FixedClock(new Date('2026-03-01T00:00:00Z'));
let t: TestApp;
let seq = 0;

const ruleSet = (key: string, rules: unknown[], extra: Record<string, unknown> = {}) => ({ key, version: 1, effectiveFrom: '2026-01-01T00:00:00Z', currency: 'USD', rules, ...extra });
const onMeter = (meter: string, name: string, params: Record<string, unknown>) => ({
  name,
  conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: meter }] },
  event: { type: 'charge', params },
});

const RULES = [
  ruleSet('per-mille', [onMeter('calls', 'a tenth of a cent per call', { id: 'calls', model: 'per_unit', unitPrice: '0.001' })]),
  ruleSet('volume-fine', [onMeter('calls', 'calls at volume prices', { id: 'calls', model: 'volume', tiers: [{ upTo: '1000', unitPrice: '0.001' }, { upTo: null, unitPrice: '0.001008' }] })]),
  ruleSet('kinds', [
    onMeter('peak_gpus', 'peak GPUs', { id: 'gpus', model: 'per_unit', unitPrice: '0.5' }),
    onMeter('active_users', 'active users', { id: 'users', model: 'per_unit', unitPrice: '0.01' }),
    onMeter('seats', 'seats', { id: 'seats', model: 'per_unit', unitPrice: '1' }),
  ]),
  ruleSet('capped', [
    onMeter('calls', 'calls up to a maximum', { id: 'calls', model: 'per_unit', unitPrice: '0.01', maximumSpend: '1' }),
    onMeter('payments', 'payment fees past a free amount', { id: 'fees', model: 'percentage', of: 'amount', rate: '2', fixedFee: '0.30', freeAmount: '100' }),
  ]),
  ruleSet('capped-set', [onMeter('calls', 'calls', { id: 'calls', model: 'per_unit', unitPrice: '0.01' })], { maximumSpend: '1' }),
];

function rulesDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'billing-amounts-'));
  cpSync(path.resolve('rules'), dir, { recursive: true });
  for (const r of RULES) {
    mkdirSync(path.join(dir, r.key));
    writeFileSync(path.join(dir, r.key, 'v1.json'), JSON.stringify(r, null, 2));
  }
  return dir;
}

beforeAll(async () => {
  t = await startTestApp({ clock, env: { RULES_DIR: rulesDir(), RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', INVOICE_GRACE_MS: '86400000' } });
  const meter = (input: Record<string, unknown>) => t.admin.ok(CreateMeterDocument, { input: input as never });
  await meter({ code: 'llm_tokens', name: 'Tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'tokenType'] });
  await meter({ code: 'calls', name: 'API calls', aggregation: 'SUM', dimensions: ['kind'] });
  await meter({ code: 'peak_gpus', name: 'Peak GPUs', aggregation: 'MAX', dimensions: ['region'] });
  await meter({ code: 'active_users', name: 'Active users', aggregation: 'UNIQUE_COUNT', property: 'user', dimensions: ['user'] });
  await meter({ code: 'seats', name: 'Seats', aggregation: 'LATEST' });
  await t.admin.ok(CreateTaxRateDocument, { input: { code: 'VAT20', name: 'VAT', percent: '20', inclusive: false } });
  const plan = (code: string, baseFee: string, charges: Array<{ meterCode: string; ruleSetKey: string; groupBy?: string[] }>) =>
    t.admin.ok(CreatePlanDocument, { input: { code, name: code, currency: 'USD', billingInterval: 'MONTHLY', baseFee, charges } });
  await plan('ten', '10', [{ meterCode: 'calls', ruleSetKey: 'per-mille', groupBy: ['kind'] }]);
  await plan('volume-fine', '0', [{ meterCode: 'calls', ruleSetKey: 'volume-fine' }]);
  await plan('starter', '20', [{ meterCode: 'llm_tokens', ruleSetKey: 'ai-price-book', groupBy: ['model'] }]);
  await plan('kinds', '0', ['peak_gpus', 'active_users', 'seats'].map((meterCode) => ({ meterCode, ruleSetKey: 'kinds' })));
  await meter({ code: 'payments', name: 'Payments', aggregation: 'COUNT' });
  await plan('capped', '0', ['calls', 'payments'].map((meterCode) => ({ meterCode, ruleSetKey: 'capped' })));
  await plan('capped-set', '0', [{ meterCode: 'calls', ruleSetKey: 'capped-set' }]);
});

afterAll(async () => {
  await t?.close();
});

async function customer(planCode: string, startsAt: string, metadata: Record<string, string> = {}, taxRateCode?: string): Promise<string> {
  const externalId = `a-${process.pid}-${seq++}`;
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD', metadata, taxRateCode } })).createCustomer;
  clock.set(startsAt);
  await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode, startsAt, alignment: 'CALENDAR', baseFeeTiming: 'ARREARS' } });
  return customer.id;
}

async function use(customerId: string, at: string, meterCode: string, quantity: string | null, dimensions?: Record<string, string>, values?: Record<string, string>) {
  clock.set(at);
  const r = await t.admin.ok(RecordUsageDocument, { input: { customerId, meterCode, quantity, dimensions, values, timestamp: at, idempotencyKey: `u-${seq++}` } });
  expect(r.recordUsage.status).toBe('ACCEPTED');
  return r.recordUsage.event!;
}

async function closeMarch(customerId: string): Promise<InvoiceFieldsFragment> {
  clock.set('2026-04-02T00:00:00.000Z');
  await t.app.services.invoices.closeCustomer(customerId, new Date('2026-04-02T00:00:00.000Z'));
  const { invoices } = await t.admin.ok(InvoicesDocument, { customerId, first: 10 });
  return invoices.nodes.find((i) => i.periodStart === '2026-03-01T00:00:00.000Z' && i.kind === 'PERIOD')!;
}

const lines = (inv: InvoiceFieldsFragment) => inv.lines.map((l) => [l.kind, l.amount]);
const sum = (xs: string[]) => xs.reduce((s, x) => s.plus(x), new Decimal(0)).toFixed(2);

describe('rounded lines add up', () => {
  it('usage paid in full from the wallet nets to zero: a $10 plan owes exactly $10', async () => {
    const c = await customer('ten', '2026-03-01T00:00:00.000Z');
    const { wallet } = (await t.admin.ok(CreateWalletDocument, { input: { customerId: c } })).createWallet;
    await t.admin.ok(TopUpWalletDocument, { input: { walletId: wallet.id, amount: '100', idempotencyKey: `top-${c}` } });
    await use(c, '2026-03-03T10:00:00.000Z', 'calls', '2004', { kind: 'a' }); // 2.004
    await use(c, '2026-03-04T10:00:00.000Z', 'calls', '4004', { kind: 'b' }); // 4.004
    const inv = await closeMarch(c);
    // Before: prepaid -6.01 (the wallet's exact 6.008, rounded on its own) and 9.99 due.
    expect(lines(inv)).toEqual([['BASE_FEE', '10.00'], ['USAGE', '2.00'], ['USAGE', '4.00'], ['PREPAID', '-6.00']]);
    expect(inv).toMatchObject({ subtotal: '16.00', total: '16.00', prepaid: '-6.00', amountDue: '10.00' });
    // The exact figure stays: what left the wallet.
    const prepaid = inv.lines.find((l) => l.kind === 'PREPAID')!;
    expect(prepaid.preciseAmount).toBe('-6.008');
    expect(sum(inv.lines.map((l) => l.amount))).toBe(inv.amountDue);
  });

  it("the README's worked example: 20% VAT on top, the wallet pays usage before tax", async () => {
    const c = await customer('ten', '2026-03-01T00:00:00.000Z', {}, 'VAT20');
    const { wallet } = (await t.admin.ok(CreateWalletDocument, { input: { customerId: c } })).createWallet;
    await t.admin.ok(TopUpWalletDocument, { input: { walletId: wallet.id, amount: '100', idempotencyKey: `top-${c}` } });
    await use(c, '2026-03-03T10:00:00.000Z', 'calls', '2004', { kind: 'a' });
    await use(c, '2026-03-04T10:00:00.000Z', 'calls', '4004', { kind: 'b' });
    const inv = await closeMarch(c);
    expect(inv.lines.map((l) => [l.kind, l.preciseAmount, l.amount])).toEqual([
      ['BASE_FEE', '10', '10.00'],
      ['USAGE', '2.004', '2.00'],
      ['USAGE', '4.004', '4.00'],
      ['PREPAID', '-6.008', '-6.00'],
    ]);
    expect(inv).toMatchObject({ subtotal: '16.00', tax: '3.20', total: '19.20', prepaid: '-6.00', amountDue: '13.20' });
  });

  it("a volume charge's usage line and its true-up add up to the period amount rounded once", async () => {
    const c = await customer('volume-fine', '2026-03-01T00:00:00.000Z');
    await use(c, '2026-03-03T10:00:00.000Z', 'calls', '500'); // tier 1: 0.5
    await use(c, '2026-03-04T10:00:00.000Z', 'calls', '600'); // the period reaches tier 2: 600 × 0.001008 = 0.6048
    const inv = await closeMarch(c);
    // Period: 1,100 × 0.001008 = 1.1088 → 1.11. Per event 1.1048 → 1.10; true-up 0.004 on its own → 0.00 (before: 1.10 in all).
    expect(lines(inv)).toEqual([['USAGE', '1.10'], ['TRUE_UP', '0.01']]);
    expect(inv.total).toBe('1.11');
    const trueUp = inv.lines.find((l) => l.kind === 'TRUE_UP')!;
    expect(trueUp.preciseAmount).toBe('0.004');
  });
});

describe('every adjustment is visible', () => {
  it('an enterprise discount shows on the line: tiers plus adjustments make the exact amount', async () => {
    const c = await customer('starter', '2026-03-01T00:00:00.000Z', { tier: 'enterprise' });
    await use(c, '2026-03-05T10:00:00.000Z', 'llm_tokens', '2310000', { model: 'gpt-4o', tokenType: 'output' });
    const inv = await closeMarch(c);
    const usage = inv.lines.find((l) => l.kind === 'USAGE')!;
    expect(usage.amount).toBe('21.95');
    expect(usage.tiers.map((x) => x.amount)).toEqual(['23.1']);
    expect(usage.adjustments).toEqual([{ id: 'enterprise-discount', kind: 'discount', description: 'enterprise agreement', rate: '5', amount: '-1.155' }]);
    const parts = [...usage.tiers.map((x) => x.amount), ...usage.adjustments.map((a) => a.amount)];
    expect(parts.reduce((s, x) => s.plus(x), new Decimal(0)).toFixed()).toBe(usage.preciseAmount);
    const html = await (await fetch(t.url.replace('/graphql', `/invoices/${inv.id}.html`), { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
    expect(html).toContain('discount enterprise agreement (5%): -1.155');
  });

  it('a per-unit line shows its quantity and price', async () => {
    const c = await customer('ten', '2026-03-01T00:00:00.000Z');
    await use(c, '2026-03-03T10:00:00.000Z', 'calls', '2004', { kind: 'a' });
    const inv = await closeMarch(c);
    expect(inv.lines.find((l) => l.kind === 'USAGE')!.tiers).toEqual([{ tier: 1, quantity: '2004', unitPrice: '0.001', flatFee: '0', amount: '2.004' }]);
  });
});

describe('meters are priced by their aggregation', () => {
  it('MAX charges each rise of the maximum, UNIQUE_COUNT each value once, LATEST the rises trued up to the last value', async () => {
    const c = await customer('kinds', '2026-03-01T00:00:00.000Z');
    const charged: string[] = [];
    const take = async (...args: Parameters<typeof use>) => charged.push((await use(...args)).charged);
    await take(c, '2026-03-02T10:00:00.000Z', 'peak_gpus', '3', { region: 'eu' });
    await take(c, '2026-03-02T11:00:00.000Z', 'peak_gpus', '7', { region: 'us' });
    await take(c, '2026-03-02T12:00:00.000Z', 'peak_gpus', '5', { region: 'eu' });
    expect(charged).toEqual(['1.5', '2', '0']);
    charged.length = 0;
    for (const user of ['ann', 'bob', 'ann', 'cat', 'bob']) await take(c, '2026-03-03T10:00:00.000Z', 'active_users', null, { user });
    expect(charged).toEqual(['0.01', '0.01', '0', '0.01', '0']);
    charged.length = 0;
    await take(c, '2026-03-04T10:00:00.000Z', 'seats', '10');
    await take(c, '2026-03-06T10:00:00.000Z', 'seats', '12');
    await take(c, '2026-03-05T10:00:00.000Z', 'seats', '11'); // arrives later, happened earlier
    await take(c, '2026-03-20T10:00:00.000Z', 'seats', '9'); // the period's last value
    expect(charged).toEqual(['10', '2', '0', '0']);

    const inv = await closeMarch(c);
    const line = (kind: string, meter: string) => inv.lines.find((l) => l.kind === kind && l.meterCode === meter)!;
    expect(line('USAGE', 'peak_gpus')).toMatchObject({ quantity: '7', amount: '3.50' });
    expect(line('USAGE', 'active_users')).toMatchObject({ quantity: '3', amount: '0.03' });
    expect(line('USAGE', 'seats')).toMatchObject({ quantity: '12', amount: '12.00' });
    expect(line('TRUE_UP', 'seats')).toMatchObject({ quantity: '-3', amount: '-3.00' });
    expect(inv.total).toBe('12.53');
  });

  it('a store that lost its state rebuilds maxima and seen values from PostgreSQL: nothing is charged twice', async () => {
    const c = await customer('kinds', '2026-03-01T00:00:00.000Z');
    await use(c, '2026-03-02T10:00:00.000Z', 'peak_gpus', '7');
    await use(c, '2026-03-02T10:00:00.000Z', 'active_users', null, { user: 'ann' });
    await deleteRedisKeys(t.redisPrefix);
    expect((await use(c, '2026-03-02T11:00:00.000Z', 'peak_gpus', '6')).charged).toBe('0');
    expect((await use(c, '2026-03-02T11:00:00.000Z', 'peak_gpus', '8')).charged).toBe('0.5');
    expect((await use(c, '2026-03-02T11:00:00.000Z', 'active_users', null, { user: 'ann' })).charged).toBe('0');
    expect((await use(c, '2026-03-02T11:00:00.000Z', 'active_users', null, { user: 'dan' })).charged).toBe('0.01');
  });
});

describe('maximum spend and free amounts through the store', () => {
  it('a charge stops at its maximum spend and a percentage skips its free amount, also after the store lost its state', async () => {
    const c = await customer('capped', '2026-03-01T00:00:00.000Z');
    expect((await use(c, '2026-03-02T10:00:00.000Z', 'calls', '60')).charged).toBe('0.6');
    expect((await use(c, '2026-03-02T10:00:00.000Z', 'payments', null, undefined, { amount: '70' })).charged).toBe('0');
    await deleteRedisKeys(t.redisPrefix);
    expect((await use(c, '2026-03-02T11:00:00.000Z', 'calls', '60')).charged).toBe('0.4'); // up to the cap of 1
    expect((await use(c, '2026-03-02T11:00:00.000Z', 'payments', null, undefined, { amount: '50' })).charged).toBe('0.7'); // 20 above the free 100, plus the fee
    await deleteRedisKeys(t.redisPrefix);
    expect((await use(c, '2026-03-02T12:00:00.000Z', 'calls', '10')).charged).toBe('0');
    expect((await use(c, '2026-03-02T12:00:00.000Z', 'payments', null, undefined, { amount: '10' })).charged).toBe('0.5');
    const inv = await closeMarch(c);
    const usage = (meter: string) => inv.lines.find((l) => l.kind === 'USAGE' && l.meterCode === meter)!;
    expect(usage('calls')).toMatchObject({ quantity: '130', amount: '1.00' });
    expect(usage('calls').description).toContain('maximum spend of 1 reached');
    expect(usage('payments').amount).toBe('1.20');
  });

  it("a rule set's maximum spend holds across a store rebuilt from PostgreSQL, and the invoice shows it", async () => {
    const c = await customer('capped-set', '2026-03-01T00:00:00.000Z');
    expect((await use(c, '2026-03-02T10:00:00.000Z', 'calls', '60')).charged).toBe('0.6');
    await deleteRedisKeys(t.redisPrefix);
    expect((await use(c, '2026-03-02T11:00:00.000Z', 'calls', '60')).charged).toBe('0.4');
    await deleteRedisKeys(t.redisPrefix);
    expect((await use(c, '2026-03-02T12:00:00.000Z', 'calls', '10')).charged).toBe('0');
    const inv = await closeMarch(c);
    expect(lines(inv)).toEqual([['USAGE', '1.00']]); // the cap's TRUE_UP line is zero, and left off
    expect(inv.lines[0]!.tiers).toEqual([]); // 130 calls at 0.01 no longer make the amount
    expect(inv.lines[0]!.description).toContain('(maximum spend of 1 for capped-set reached)');
    expect(inv.total).toBe('1.00');
  });
});

describe('small figures a customer reads', () => {
  it('a prorated base fee shows its share to six decimals, and the amount uses the exact share', async () => {
    const c = await customer('ten', '2026-03-10T00:00:00.000Z');
    const inv = await closeMarch(c);
    const fee = inv.lines.find((l) => l.kind === 'BASE_FEE')!;
    // 22 of 31 days: 0.709677419354838709677419354838709677419354838709677419354838710 before.
    expect(fee.quantity).toBe('0.709677');
    expect(fee.amount).toBe('7.10');
    expect(fee.details.share).toBe('22/31');
  });

  it('the spend projection of a first partial period counts from the subscription start', async () => {
    const c = await customer('ten', '2026-03-21T00:00:00.000Z');
    await use(c, '2026-03-22T00:00:00.000Z', 'calls', '5000', { kind: 'a' }); // 5.00
    clock.set('2026-03-26T00:00:00.000Z');
    const { currentPeriod } = await t.admin.ok(CurrentPeriodDocument, { customerId: c });
    // 5.00 over the 5 days since the 21st, 6 days to go: 11.00 (counted from March 1st: 6.20).
    expect(new Decimal(currentPeriod.spend[0]!.projected).toFixed(2)).toBe('11.00');
  });
});
