import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import {
  CancelSubscriptionDocument,
  ChangeSubscriptionPlanDocument,
  CloseInvoicesDocument,
  CreateApiKeyDocument,
  CreateCustomerDocument,
  CreateMeterDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  CreateTaxRateDocument,
  CreateWalletDocument,
  InvoiceDocument,
  InvoicesDocument,
  MarkInvoicePaidDocument,
  RecordUsageDocument,
  TopUpWalletDocument,
  UpcomingInvoiceDocument,
  VoidInvoiceDocument,
  type InvoiceFieldsFragment,
} from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { runBilling } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Billing stories on fixed dates with exact amounts. Periods are calendar months in UTC; the
 * grace period is one day, so March closes as a draft on April 1 and is final on April 2.
 */
const clock = new FixedClock(new Date('2026-03-01T00:00:00Z'));
let t: TestApp;
let seq = 0;
let rules: string;

const VOLUME_RULES = {
  key: 'volume-test',
  version: 1,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'USD',
  rules: [
    {
      name: 'api calls at volume prices',
      conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: 'api_calls' }] },
      event: { type: 'charge', params: { id: 'calls', model: 'volume', tiers: [{ upTo: '1000', unitPrice: '0.10' }, { upTo: null, unitPrice: '0.05', flatFee: '5' }] } },
    },
  ],
};
const FLAT_RULES = {
  key: 'flat-first',
  version: 1,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'USD',
  rules: [
    {
      name: 'platform fee then per call',
      conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: 'api_calls' }] },
      event: { type: 'charge', params: { id: 'platform', model: 'graduated', tiers: [{ upTo: '1000', unitPrice: '0', flatFee: '10' }, { upTo: null, unitPrice: '0.01' }] } },
    },
  ],
};

const MINIMUM_RULES = {
  key: 'minimum-test',
  version: 1,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'USD',
  minimumSpend: '25',
  rules: [
    {
      name: 'per call',
      conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: 'api_calls' }] },
      event: { type: 'charge', params: { id: 'calls', model: 'per_unit', unitPrice: '0.01' } },
    },
  ],
};

const CAPPED_RULES = {
  key: 'capped-test',
  version: 1,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'USD',
  rules: [
    {
      name: 'per call, at most 20 a period',
      conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: 'api_calls' }] },
      event: { type: 'charge', params: { id: 'calls', model: 'per_unit', unitPrice: '0.01', maximumSpend: '20' } },
    },
  ],
};

function rulesDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'billing-rules-'));
  cpSync(path.resolve('rules'), dir, { recursive: true });
  for (const r of [VOLUME_RULES, FLAT_RULES, MINIMUM_RULES, CAPPED_RULES]) {
    mkdirSync(path.join(dir, r.key));
    writeFileSync(path.join(dir, r.key, 'v1.json'), JSON.stringify(r, null, 2));
  }
  return dir;
}

beforeAll(async () => {
  rules = rulesDir();
  t = await startTestApp({ clock, env: { RULES_DIR: rules, RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', INVOICE_GRACE_MS: '86400000' } });
  await t.admin.ok(CreateMeterDocument, { input: { code: 'llm_tokens', name: 'Tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'tokenType'] } });
  await t.admin.ok(CreateMeterDocument, { input: { code: 'api_calls', name: 'API calls', aggregation: 'SUM', property: 'calls' } });
  await t.admin.ok(CreateTaxRateDocument, { input: { code: 'VAT20', name: 'VAT', percent: '20', inclusive: false } });
  await t.admin.ok(CreateTaxRateDocument, { input: { code: 'VAT20-INCL', name: 'VAT', percent: '20', inclusive: true } });
  const plan = (code: string, baseFee: string, meterCode: string, ruleSetKey: string, extra: Record<string, unknown> = {}) =>
    t.admin.ok(CreatePlanDocument, { input: { code, name: code[0]!.toUpperCase() + code.slice(1), currency: 'USD', billingInterval: 'MONTHLY', baseFee, charges: [{ meterCode, ruleSetKey, groupBy: meterCode === 'llm_tokens' ? ['model'] : [] }], ...extra } });
  await plan('hybrid', '49', 'llm_tokens', 'hybrid-plan');
  await plan('hybrid-incl', '49', 'llm_tokens', 'hybrid-plan', { taxRateCode: 'VAT20-INCL' });
  await plan('starter', '20', 'llm_tokens', 'ai-price-book');
  await plan('pro', '50', 'llm_tokens', 'hybrid-plan');
  await plan('volume', '0', 'api_calls', 'volume-test');
  await plan('flat', '0', 'api_calls', 'flat-first');
  await plan('minimum', '0', 'api_calls', 'minimum-test');
  await plan('capped', '31', 'api_calls', 'capped-test');
  await plan('weekly', '7', 'api_calls', 'capped-test', { billingInterval: 'WEEKLY' });
});

afterAll(async () => {
  await t?.close();
});

async function customer(planCode: string, startsAt: string, opts: { timing?: 'ADVANCE' | 'ARREARS'; taxRateCode?: string; billingDay?: number } = {}): Promise<string> {
  const externalId = `s-${process.pid}-${seq++}`;
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD', taxRateCode: opts.taxRateCode } })).createCustomer;
  clock.set(startsAt);
  const created = await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode, startsAt, baseFeeTiming: opts.timing ?? 'ARREARS', billingDay: opts.billingDay } });
  expect(created.createSubscription.subscription.billingDay).toBe(opts.billingDay ?? null);
  return customer.id;
}

async function use(customerId: string, at: string, quantity: string, meterCode = 'llm_tokens'): Promise<void> {
  clock.set(at);
  const dimensions = meterCode === 'llm_tokens' ? { model: 'gpt-4o', tokenType: 'input' } : undefined;
  const r = await t.admin.ok(RecordUsageDocument, { input: { customerId, meterCode, quantity, dimensions, timestamp: at, idempotencyKey: `e-${seq++}` } });
  expect(r.recordUsage.status).toBe('ACCEPTED');
}

const close = async (customerId: string, at: string) => {
  clock.set(at);
  return t.app.services.invoices.closeCustomer(customerId, new Date(at));
};

async function invoiceFor(customerId: string, periodStart: string, kind = 'PERIOD'): Promise<InvoiceFieldsFragment> {
  const { invoices } = await t.admin.ok(InvoicesDocument, { customerId, first: 50 });
  const found = invoices.nodes.filter((i) => i.periodStart === periodStart && i.kind === kind && i.status !== 'VOID');
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** Lines as [kind, amount] pairs, plus the totals, for exact comparison. */
const summary = (inv: InvoiceFieldsFragment) => ({
  lines: inv.lines.map((l) => [l.kind, l.amount]),
  subtotal: inv.subtotal,
  tax: inv.tax,
  total: inv.total,
  prepaid: inv.prepaid,
  amountDue: inv.amountDue,
});

describe('a monthly plan with a base fee, 1M included tokens and graduated overage', () => {
  it('bills the month: base fee, overage with its tier, the allowance used; draft in the grace period, then numbered', async () => {
    const c = await customer('hybrid', '2026-03-01T00:00:00.000Z');
    await use(c, '2026-03-03T10:00:00.000Z', '600000');
    await use(c, '2026-03-10T10:00:00.000Z', '900000');
    await use(c, '2026-03-20T10:00:00.000Z', '2500000');

    expect((await close(c, '2026-04-01T00:00:00.000Z')).drafted).toBe(1);
    const draft = await invoiceFor(c, '2026-03-01T00:00:00.000Z');
    expect(draft.status).toBe('DRAFT');
    expect(draft.number).toBeNull();

    const done = await close(c, '2026-04-02T00:00:00.000Z');
    expect(done.finalized).toHaveLength(1);
    const inv = await invoiceFor(c, '2026-03-01T00:00:00.000Z');
    expect(inv.status).toBe('FINALIZED');
    expect(inv.number).toMatch(/^INV-\d{6}$/);
    expect(summary(inv)).toEqual({
      lines: [['BASE_FEE', '49.00'], ['USAGE', '12.00'], ['ALLOWANCE', '0.00']],
      subtotal: '61.00',
      tax: '0.00',
      total: '61.00',
      prepaid: '0.00',
      amountDue: '61.00',
    });
    const usage = inv.lines.find((l) => l.kind === 'USAGE')!;
    expect(usage.quantity).toBe('3000000');
    expect(usage.dimensions).toEqual({ model: 'gpt-4o' });
    expect(usage.tiers).toEqual([{ tier: 1, quantity: '3000000', unitPrice: '0.000004', flatFee: '0', amount: '12' }]);
    expect(inv.lines.find((l) => l.kind === 'ALLOWANCE')!.quantity).toBe('1000000');
    expect(inv.ruleSets.map((r) => `${r.key}@${r.version}`)).toEqual(['hybrid-plan@1']);
  });
});

describe('plan changes', () => {
  it('an upgrade on the 10th takes effect at once: the unused part of the advance fee is credited, the new fee prorated, usage priced by the plan in force', async () => {
    const c = await customer('starter', '2026-04-01T00:00:00.000Z', { timing: 'ADVANCE' });
    await close(c, '2026-04-01T00:00:00.000Z');
    const opening = await invoiceFor(c, '2026-04-01T00:00:00.000Z', 'OPENING');
    expect(summary(opening).lines).toEqual([['BASE_FEE', '20.00']]);
    expect(opening.status).toBe('FINALIZED');

    await use(c, '2026-04-05T10:00:00.000Z', '100000'); // starter: ai-price-book, 2.50 per 1M → 0.25
    clock.set('2026-04-10T12:00:00.000Z');
    const subscriptions = await t.admin.raw<{ subscriptions: { nodes: Array<{ id: string }> } }>(`query($c: ID!) { subscriptions(customerId: $c) { nodes { id } } }`, { c }).then((r) => r.data!.subscriptions.nodes);
    const changed = await t.admin.ok(ChangeSubscriptionPlanDocument, { input: { subscriptionId: subscriptions[0]!.id, planCode: 'pro' } });
    expect(changed.changeSubscriptionPlan.subscription.startsAt).toBe('2026-04-10T12:00:00.000Z');
    expect(changed.changeSubscriptionPlan.subscription.billingAnchor).toBe('2026-04-01T00:00:00.000Z');
    await use(c, '2026-04-15T10:00:00.000Z', '1500000'); // pro: hybrid-plan, 1M included, 0.5M at 4.00 per 1M → 2.00

    await close(c, '2026-05-02T00:00:00.000Z');
    const inv = await invoiceFor(c, '2026-04-01T00:00:00.000Z');
    const fees = inv.lines.filter((l) => l.kind === 'BASE_FEE').map((l) => [l.periodStart.slice(0, 10), l.amount, l.description]);
    expect(fees).toEqual([
      ['2026-04-01', '-14.00', expect.stringMatching(/^Change since INV-\d+: Starter base fee, 2026-04-01 to 2026-04-10 \(9 of 30 days\), in advance$/)],
      ['2026-04-01', '35.00', 'Pro base fee, 2026-04-10 to 2026-05-01 (21 of 30 days), in advance'],
      ['2026-05-01', '50.00', 'Pro base fee, 2026-05-01 to 2026-06-01, in advance'],
    ]);
    const usage = inv.lines.filter((l) => l.kind === 'USAGE').map((l) => [l.quantity, l.amount]);
    expect(usage).toEqual([
      ['100000', '0.25'],
      ['500000', '2.00'],
    ]);
    expect(inv.subtotal).toBe('73.25');
    expect(inv.ruleSets.map((r) => r.key).sort()).toEqual(['ai-price-book', 'hybrid-plan']);
  });

  it('a downgrade takes effect at the end of the period', async () => {
    const c = await customer('pro', '2026-04-01T00:00:00.000Z');
    clock.set('2026-04-20T00:00:00.000Z');
    const subscriptions = await t.admin.raw<{ subscriptions: { nodes: Array<{ id: string }> } }>(`query($c: ID!) { subscriptions(customerId: $c) { nodes { id } } }`, { c }).then((r) => r.data!.subscriptions.nodes);
    const changed = await t.admin.ok(ChangeSubscriptionPlanDocument, { input: { subscriptionId: subscriptions[0]!.id, planCode: 'starter' } });
    expect(changed.changeSubscriptionPlan.subscription.startsAt).toBe('2026-05-01T00:00:00.000Z');
    await close(c, '2026-05-02T00:00:00.000Z');
    expect(summary(await invoiceFor(c, '2026-04-01T00:00:00.000Z')).lines).toEqual([['BASE_FEE', '50.00']]);
    await close(c, '2026-06-02T00:00:00.000Z');
    const may = await invoiceFor(c, '2026-05-01T00:00:00.000Z');
    expect(may.lines.map((l) => [l.kind, l.amount, l.description])).toEqual([['BASE_FEE', '20.00', 'Starter base fee, 2026-05-01 to 2026-06-01']]);
  });

  it('a cancellation at period end stops the fees; a second change is refused while one is scheduled', async () => {
    const c = await customer('hybrid', '2026-04-01T00:00:00.000Z');
    clock.set('2026-04-05T00:00:00.000Z');
    const subscriptions = await t.admin.raw<{ subscriptions: { nodes: Array<{ id: string }> } }>(`query($c: ID!) { subscriptions(customerId: $c) { nodes { id } } }`, { c }).then((r) => r.data!.subscriptions.nodes);
    const cancel = await t.admin.ok(CancelSubscriptionDocument, { input: { subscriptionId: subscriptions[0]!.id, timing: 'PERIOD_END' } });
    expect(cancel.cancelSubscription.subscription).toMatchObject({ endsAt: '2026-05-01T00:00:00.000Z', cancelAtPeriodEnd: true });
    const again = await t.admin.request(ChangeSubscriptionPlanDocument, { input: { subscriptionId: subscriptions[0]!.id, planCode: 'pro' } });
    expect(codesOf(again)).toEqual(['CONFLICT']);
    await close(c, '2026-06-02T00:00:00.000Z');
    const { invoices } = await t.admin.ok(InvoicesDocument, { customerId: c });
    expect(invoices.nodes.map((i) => [i.periodStart.slice(0, 10), i.total])).toEqual([['2026-04-01', '49.00']]);
  });
});

describe('true-ups, allowances and flat fees', () => {
  it('volume tiers: per-event charges are provisional, the invoice trues them up to the period price plus the tier flat fee', async () => {
    const c = await customer('volume', '2026-03-01T00:00:00.000Z');
    await use(c, '2026-03-05T00:00:00.000Z', '600', 'api_calls'); // provisional: 600 × 0.10 = 60
    await use(c, '2026-03-06T00:00:00.000Z', '600', 'api_calls'); // provisional: 600 × 0.05 = 30
    await close(c, '2026-04-02T00:00:00.000Z');
    const inv = await invoiceFor(c, '2026-03-01T00:00:00.000Z');
    // The period total, 1,200, is in tier 2: 1,200 × 0.05 + 5 = 65.
    expect(summary(inv).lines).toEqual([
      ['USAGE', '90.00'],
      ['TRUE_UP', '-30.00'],
      ['TRUE_UP', '5.00'],
    ]);
    expect(inv.total).toBe('65.00');
  });

  it('a first-tier flat fee is due at zero usage', async () => {
    const c = await customer('flat', '2026-03-01T00:00:00.000Z');
    await close(c, '2026-04-02T00:00:00.000Z');
    const inv = await invoiceFor(c, '2026-03-01T00:00:00.000Z');
    expect(inv.lines.map((l) => [l.kind, l.amount, l.tiers.map((x) => x.flatFee)])).toEqual([['USAGE', '10.00', ['10']]]);
    expect(inv.total).toBe('10.00');
  });

  it("a rule set's minimum spend adds the shortfall", async () => {
    const c = await customer('minimum', '2026-03-01T00:00:00.000Z');
    await use(c, '2026-03-05T00:00:00.000Z', '1000', 'api_calls'); // 10.00
    await close(c, '2026-04-02T00:00:00.000Z');
    const inv = await invoiceFor(c, '2026-03-01T00:00:00.000Z');
    expect(summary(inv).lines).toEqual([
      ['USAGE', '10.00'],
      ['MINIMUM', '15.00'],
    ]);
    expect(inv.total).toBe('25.00');
  });
});

describe('billing day and maximum spend', () => {
  it('periods run from the billing day; a charge stops at its maximum spend and the line says so', async () => {
    const c = await customer('capped', '2026-03-15T00:00:00.000Z', { billingDay: 15 });
    await use(c, '2026-03-20T00:00:00.000Z', '1500', 'api_calls'); // 15.00
    await use(c, '2026-04-10T00:00:00.000Z', '1000', 'api_calls'); // 10.00, of which 5.00 up to the cap
    await use(c, '2026-04-12T00:00:00.000Z', '700', 'api_calls'); // past the cap: 0
    await use(c, '2026-04-15T00:00:00.000Z', '300', 'api_calls'); // the next period
    expect((await close(c, '2026-04-01T00:00:00.000Z')).drafted).toBe(0);
    expect((await close(c, '2026-04-15T00:00:00.000Z')).drafted).toBe(1);
    const inv = await invoiceFor(c, '2026-03-15T00:00:00.000Z');
    expect(inv.periodEnd).toBe('2026-04-15T00:00:00.000Z');
    expect(summary(inv).lines).toEqual([
      ['BASE_FEE', '31.00'],
      ['USAGE', '20.00'],
    ]);
    const usage = inv.lines.find((l) => l.kind === 'USAGE')!;
    expect(usage.quantity).toBe('3200');
    expect(usage.description).toContain('maximum spend of 20 reached');
  });

  it('a subscription starting between billing days begins with a partial period; a billing day past the month end is its last day', async () => {
    const c = await customer('capped', '2026-03-20T00:00:00.000Z', { billingDay: 15 });
    await close(c, '2026-04-16T00:00:00.000Z');
    const inv = await invoiceFor(c, '2026-03-15T00:00:00.000Z');
    expect(summary(inv).lines).toEqual([['BASE_FEE', '26.00']]); // 26 of 31 days
    const late = await customer('capped', '2026-01-31T00:00:00.000Z', { billingDay: 31 });
    await close(late, '2026-03-02T00:00:00.000Z');
    const feb = await invoiceFor(late, '2026-01-31T00:00:00.000Z');
    expect(feb.periodEnd).toBe('2026-02-28T00:00:00.000Z');
  });

  it('a billing day is refused out of range, on anniversary alignment and on weekly plans', async () => {
    const { customer: k } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId: `bd-${process.pid}`, name: 'bd', currency: 'USD' } })).createCustomer;
    const attempt = (planCode: string, extra: Record<string, unknown>) =>
      t.admin.request(CreateSubscriptionDocument, { input: { customerId: k.id, planCode, startsAt: '2026-03-01T00:00:00.000Z', ...extra } });
    expect(codesOf(await attempt('capped', { billingDay: 32 }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await attempt('capped', { billingDay: 0 }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await attempt('capped', { billingDay: 10, alignment: 'ANNIVERSARY' }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await attempt('weekly', { billingDay: 10 }))).toEqual(['VALIDATION_FAILED']);
  });
});

describe('late events', () => {
  it('inside the grace period they change the draft; after finalization they go to the next invoice as an adjustment of their period', async () => {
    const c = await customer('hybrid', '2026-03-01T00:00:00.000Z');
    await use(c, '2026-03-10T00:00:00.000Z', '2000000'); // 1M over the allowance: 4.00
    await close(c, '2026-04-01T00:00:00.000Z');
    expect((await invoiceFor(c, '2026-03-01T00:00:00.000Z')).total).toBe('53.00');

    clock.set('2026-04-01T12:00:00.000Z');
    await use(c, '2026-03-31T10:00:00.000Z', '500000'); // late, inside the grace period: 2.00
    await close(c, '2026-04-01T13:00:00.000Z');
    expect((await invoiceFor(c, '2026-03-01T00:00:00.000Z')).total).toBe('55.00');
    await close(c, '2026-04-02T00:00:00.000Z');
    const march = await invoiceFor(c, '2026-03-01T00:00:00.000Z');
    expect(march).toMatchObject({ status: 'FINALIZED', total: '55.00' });

    await use(c, '2026-03-31T20:00:00.000Z', '250000'); // after finalization: 1.00, billed in April
    await close(c, '2026-05-02T00:00:00.000Z');
    expect((await t.admin.ok(InvoiceDocument, { id: march.id })).invoice.total).toBe('55.00');
    const april = await invoiceFor(c, '2026-04-01T00:00:00.000Z');
    const late = april.lines.filter((l) => l.periodStart === '2026-03-01T00:00:00.000Z');
    expect(late.map((l) => [l.kind, l.quantity, l.amount])).toEqual([['USAGE', '250000', '1.00']]);
    expect(late[0]!.description).toContain(`Change since ${march.number}`);
    expect(april.total).toBe('50.00');
  });
});

describe('prepaid and taxes', () => {
  it('a prepaid customer: what the wallet paid as usage happened is on the invoice and off the amount due', async () => {
    const c = await customer('hybrid', '2026-03-01T00:00:00.000Z');
    const { wallet } = (await t.admin.ok(CreateWalletDocument, { input: { customerId: c } })).createWallet;
    await t.admin.ok(TopUpWalletDocument, { input: { walletId: wallet.id, amount: '100', idempotencyKey: `top-${c}` } });
    await use(c, '2026-03-03T10:00:00.000Z', '600000');
    await use(c, '2026-03-10T10:00:00.000Z', '900000');
    await use(c, '2026-03-20T10:00:00.000Z', '2500000');
    await close(c, '2026-04-02T00:00:00.000Z');
    const inv = await invoiceFor(c, '2026-03-01T00:00:00.000Z');
    expect(summary(inv)).toMatchObject({ subtotal: '61.00', total: '61.00', prepaid: '-12.00', amountDue: '49.00' });
    expect(inv.lines.find((l) => l.kind === 'PREPAID')).toMatchObject({ amount: '-12.00', taxable: false });
  });

  it('tax-exclusive (customer rate) adds tax; tax-inclusive (plan rate) shows the tax the total holds', async () => {
    const excl = await customer('hybrid', '2026-03-01T00:00:00.000Z', { taxRateCode: 'VAT20' });
    const incl = await customer('hybrid-incl', '2026-03-01T00:00:00.000Z');
    for (const c of [excl, incl]) await use(c, '2026-03-20T10:00:00.000Z', '4000000');
    await close(excl, '2026-04-02T00:00:00.000Z');
    await close(incl, '2026-04-02T00:00:00.000Z');
    expect(summary(await invoiceFor(excl, '2026-03-01T00:00:00.000Z'))).toMatchObject({ subtotal: '61.00', tax: '12.20', total: '73.20', amountDue: '73.20' });
    const inclusive = await invoiceFor(incl, '2026-03-01T00:00:00.000Z');
    // 61 contains 61 − 61 / 1.2 = 10.1666… of tax, rounded half up once.
    expect(summary(inclusive)).toMatchObject({ subtotal: '61.00', tax: '10.17', total: '61.00', amountDue: '61.00' });
    expect(inclusive.precise.tax).toMatch(/^10\.1666666/);
    expect(inclusive.taxRate).toEqual({ code: 'VAT20-INCL', percent: '20', inclusive: true });
  });
});

describe('running the close', () => {
  it('two closes at once and a rerun give one invoice per period, numbered without gaps', async () => {
    const c = await customer('hybrid', '2026-03-01T00:00:00.000Z');
    await use(c, '2026-03-10T00:00:00.000Z', '3000000');
    clock.set('2026-04-02T00:00:00.000Z');
    const at = '2026-04-02T00:00:00.000Z';
    const [a, b] = await Promise.all([t.admin.ok(CloseInvoicesDocument, { input: { at } }), t.admin.ok(CloseInvoicesDocument, { input: { at } })]);
    expect(a.closeInvoices.failed + b.closeInvoices.failed).toBe(0);
    const rerun = await t.admin.ok(CloseInvoicesDocument, { input: { at } });
    expect(rerun.closeInvoices.finalized).toEqual([]);
    // Customers with nothing due since the last run are not even looked at.
    expect(rerun.closeInvoices.customers).toBeLessThan(a.closeInvoices.customers);
    expect(codesOf(await t.admin.request(CloseInvoicesDocument, { input: { at: '2026-04-03T00:00:00.000Z' } }))).toEqual(['VALIDATION_FAILED']);
    const { invoices } = await t.admin.ok(InvoicesDocument, { customerId: c });
    expect(invoices.nodes.map((i) => [i.periodStart, i.total])).toEqual([['2026-03-01T00:00:00.000Z', '57.00']]);
    const numbers = (await t.app.sql.query<{ seq: string }>(`select sequence::text as seq from invoice where number_scope = 'organization' order by sequence`)).map((r) => Number(r.seq));
    expect(numbers, JSON.stringify(numbers)).toEqual(numbers.map((_, i) => i + 1));
  });
});

describe('the invoices close command', () => {
  it('closes due periods like the scheduler; two runs at once and a rerun leave one invoice', async () => {
    const c = await customer('hybrid', '2026-03-01T00:00:00.000Z');
    await use(c, '2026-03-10T00:00:00.000Z', '1500000');
    const env = { DATABASE_URL: t.db.url, RULES_DIR: rules, LOG_LEVEL: 'warn', INVOICE_GRACE_MS: '86400000' };
    const runs = await Promise.all([runBilling(['invoices', 'close', '--at', '2026-04-02T00:00:00Z'], env), runBilling(['invoices', 'close', '--at', '2026-04-02T00:00:00Z'], env)]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/customer\(s\), \d+ draft\(s\) updated, \d+ invoice\(s\) finalized, 0 failed/);
    }
    expect((await runBilling(['invoices', 'close', '--at', '2026-04-02T00:00:00Z'], env)).stdout).toContain(' 0 invoice(s) finalized');
    const { invoices } = await t.admin.ok(InvoicesDocument, { customerId: c });
    expect(invoices.nodes.map((i) => [i.status, i.total])).toEqual([['FINALIZED', '51.00']]);
    expect((await runBilling(['invoices', 'close', '--at', 'yesterday'], env)).code).toBe(2);
  });
});

describe('lifecycle after finalization', () => {
  it('finalized invoices are immutable; paid is recorded once; voiding with a reason issues a corrected invoice', async () => {
    const c = await customer('hybrid', '2026-03-01T00:00:00.000Z');
    await close(c, '2026-04-02T00:00:00.000Z');
    const inv = await invoiceFor(c, '2026-03-01T00:00:00.000Z');
    await expect(t.app.sql.query(`update invoice set total = 0 where id = $1`, [inv.id])).rejects.toThrow(/immutable/);
    await expect(t.app.sql.query(`update invoice_line set amount = 0 where invoice_id = $1`, [inv.id])).rejects.toThrow(/immutable/);

    const paid = await t.admin.ok(MarkInvoicePaidDocument, { input: { invoiceId: inv.id, paymentReference: 'pi_123' } });
    expect(paid.markInvoicePaid.invoice).toMatchObject({ status: 'PAID', paymentReference: 'pi_123' });
    expect((await t.admin.ok(MarkInvoicePaidDocument, { input: { invoiceId: inv.id, paymentReference: 'pi_123' } })).markInvoicePaid.invoice.status).toBe('PAID');
    expect(codesOf(await t.admin.request(MarkInvoicePaidDocument, { input: { invoiceId: inv.id, paymentReference: 'pi_other' } }))).toEqual(['CONFLICT']);

    expect(codesOf(await t.admin.request(VoidInvoiceDocument, { input: { invoiceId: inv.id, reason: '' } }))).toEqual(['VALIDATION_FAILED']);
    const voided = await t.admin.ok(VoidInvoiceDocument, { input: { invoiceId: inv.id, reason: 'wrong customer address', reissue: true } });
    expect(voided.voidInvoice.voided).toMatchObject({ status: 'VOID', voidReason: 'wrong customer address' });
    const corrected = voided.voidInvoice.corrected!;
    expect(corrected).toMatchObject({ status: 'FINALIZED', correctsInvoiceId: inv.id, total: inv.total, periodStart: inv.periodStart });
    expect(corrected.number).not.toBe(inv.number);
    expect(codesOf(await t.admin.request(VoidInvoiceDocument, { input: { invoiceId: inv.id, reason: 'again' } }))).toEqual(['CONFLICT']);
  });

  it('invoices are readable by the customer only: GraphQL and the printable page', async () => {
    const c = await customer('hybrid', '2026-03-01T00:00:00.000Z');
    const other = await customer('hybrid', '2026-03-01T00:00:00.000Z');
    await close(c, '2026-04-02T00:00:00.000Z');
    const inv = await invoiceFor(c, '2026-03-01T00:00:00.000Z');
    const keyFor = async (customerId: string) => (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'frontend', role: 'CUSTOMER', customerId } })).createApiKey.secret;
    const own = t.client(await keyFor(c));
    const strangerKey = await keyFor(other);
    const stranger = t.client(strangerKey);
    expect((await own.ok(InvoiceDocument, { id: inv.id })).invoice.number).toBe(inv.number);
    // Another customer's invoice answers as an unknown id does.
    expect(codesOf(await stranger.request(InvoiceDocument, { id: inv.id }))).toEqual(['NOT_FOUND']);
    expect(codesOf(await stranger.request(InvoicesDocument, { customerId: c, first: 1 }))).toEqual(['FORBIDDEN']);

    const page = (key?: string) => fetch(t.url.replace('/graphql', `/invoices/${inv.id}.html`), { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const html = await page(t.adminKey);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toContain('text/html');
    const body = await html.text();
    expect(body).toContain(inv.number!);
    expect(body).toContain('49.00');
    expect((await page()).status).toBe(401);
    expect((await page(strangerKey)).status).toBe(404);
  });

  it('upcomingInvoice shows the period so far and a linear projection to its end', async () => {
    const c = await customer('hybrid', '2026-06-01T00:00:00.000Z');
    await use(c, '2026-06-05T00:00:00.000Z', '2000000'); // 4.00 so far
    clock.set('2026-06-11T00:00:00.000Z'); // 10 of 30 days elapsed
    const { upcomingInvoice } = await t.admin.ok(UpcomingInvoiceDocument, { customerId: c });
    expect(upcomingInvoice!.invoice).toMatchObject({ status: 'DRAFT', subtotal: '53.00' });
    expect(upcomingInvoice!.projected).toMatchObject({ elapsed: '0.333333', subtotal: '61.00' });
  });
});

describe('numbering per customer', () => {
  it('INVOICE_NUMBERING=CUSTOMER numbers each customer from 1 with its external id', async () => {
    const own = await startTestApp({ clock, env: { RULES_DIR: rules, RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', INVOICE_NUMBERING: 'CUSTOMER', INVOICE_NUMBER_PREFIX: 'ACME' } });
    try {
      await own.admin.ok(CreateMeterDocument, { input: { code: 'api_calls', name: 'API calls', aggregation: 'SUM', property: 'calls' } });
      await own.admin.ok(CreatePlanDocument, { input: { code: 'flat', name: 'Flat', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '5', charges: [] } });
      const numbers: string[][] = [];
      for (const externalId of ['alpha', 'beta']) {
        const { customer: c } = (await own.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD' } })).createCustomer;
        await own.admin.ok(CreateSubscriptionDocument, { input: { customerId: c.id, planCode: 'flat', startsAt: '2026-01-01T00:00:00.000Z', baseFeeTiming: 'ARREARS' } });
        await own.app.services.invoices.closeCustomer(c.id, new Date('2026-03-05T00:00:00Z'));
        const { invoices } = await own.admin.ok(InvoicesDocument, { customerId: c.id });
        numbers.push(invoices.nodes.map((i) => i.number!));
      }
      expect(numbers).toEqual([
        ['ACME-alpha-0002', 'ACME-alpha-0001'],
        ['ACME-beta-0002', 'ACME-beta-0001'],
      ]);
    } finally {
      await own.close();
    }
  });
});
