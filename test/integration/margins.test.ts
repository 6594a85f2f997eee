import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../../src/modules/api-keys/index.js';
import { CreatePlanDocument, CreateSubscriptionDocument, CreateCustomerDocument, MarginsDocument, RecordUsageDocument, type MarginGroupBy } from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { runBilling } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

/*
 * The shipped rules, with the shipped cost book provider-costs (gpt-4o at 2 and 8 per 1M input and
 * output tokens, gpt-4o-mini input at 0.12). Customer A (plan api, ai-price-book) records, a day
 * before B: gpt-4o 1M input (charged 2.5, cost 2) and 0.5M output (5, cost 4), and llama-3.1-405b
 * carrying its provider cost 0.8 (charged 0.8 + 25% = 1, cost 0.8 ACTUAL). Customer B (plan
 * hybrid, 1M tokens included then 4 per 1M) records gpt-4o-mini 2M input (charged 4, cost 0.24)
 * and mistral-large 0.5M input (charged 2, no cost book knows it: cost unknown).
 */
const shipped = fileURLToPath(new URL('../../rules/', import.meta.url));
let t: TestApp;
let rulesDir: string;
let a: Funded;
let b: Funded;
const MINUTE = 60_000;
const now = Date.now();
const dayA = new Date(Math.floor((now - 26 * 60 * MINUTE) / 1000) * 1000);
const dayB = new Date(Math.floor((now - 10 * MINUTE) / 1000) * 1000);
const at = (day: Date, m: number) => new Date(day.getTime() + m * MINUTE);
const from = new Date(dayA.getTime() - MINUTE);
const to = new Date(dayB.getTime() + 5 * MINUTE);

const record = async (c: Funded, key: string, model: string, tokenType: string, quantity: string, when: Date, values?: Record<string, string>) => {
  const r = await t.admin.ok(RecordUsageDocument, {
    input: { customerId: c.customerId, meterCode: 'llm_tokens', quantity, dimensions: { model, tokenType }, values, idempotencyKey: key, timestamp: when.toISOString() },
  });
  expect(r.recordUsage.refusal).toBeNull();
  expect(r.recordUsage.status).toBe('ACCEPTED');
};

beforeAll(async () => {
  rulesDir = await mkdtemp(path.join(tmpdir(), 'billing-margins-'));
  await cp(shipped, rulesDir, { recursive: true });
  t = await startTestApp({ env: { RULES_DIR: rulesDir, RULES_WATCH: 'false' } });
  await setupCatalogue(t);
  const startsAt = new Date(now - 3 * 24 * 60 * MINUTE);
  a = await fundedCustomer(t, '100', { startsAt });
  b = await fundedCustomer(t, '100', { plan: 'hybrid', startsAt });
  await record(a, 'a1', 'gpt-4o', 'input', '1000000', at(dayA, 1));
  await record(a, 'a2', 'gpt-4o', 'output', '500000', at(dayA, 2));
  await record(a, 'a3', 'llama-3.1-405b', 'input', '1000', at(dayA, 3), { providerCost: '0.8' });
  await record(b, 'b1', 'gpt-4o-mini', 'input', '2000000', at(dayB, 1));
  await record(b, 'b2', 'mistral-large', 'input', '500000', at(dayB, 2));
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (rulesDir) await rm(rulesDir, { recursive: true, force: true });
});

const row = (key: string, events: number, revenue: string, cost: string, margin: string, marginPercent: string | null, uncostedEvents = 0) => ({
  key,
  currency: 'USD',
  events,
  revenue,
  cost,
  margin,
  marginPercent,
  uncostedEvents,
});
const rowA = (key: string) => row(key, 3, '8.5', '6.8', '1.7', '20');
const rowB = (key: string) => row(key, 2, '6', '0.24', '5.76', '96', 1);
const total = row('(total)', 5, '14.5', '7.04', '7.46', '51.45', 1);
const byKey = <R extends { key: string }>(rows: R[]) => [...rows].sort((x, y) => (x.key < y.key ? -1 : 1));
const margins = async (groupBy: MarginGroupBy, customerId?: string) =>
  (await t.admin.ok(MarginsDocument, { from: from.toISOString(), to: to.toISOString(), groupBy, customerId })).margins;

describe('cost books and margins', () => {
  it('stores each event’s cost beside its price: from the cost book, the actual provider cost, or unknown', async () => {
    const rows = await t.app.sql.query<Record<string, unknown>>(
      `select idempotency_key as key, charged::text, cost::text, cost_units::text, cost_source, cost_currency, cost_book
         from usage_event where customer_id = any($1::uuid[]) order by idempotency_key`,
      [[a.customerId, b.customerId]],
    );
    const book = [{ key: 'provider-costs', version: 1 }];
    expect(rows).toEqual([
      { key: 'a1', charged: '2500000000', cost: '2', cost_units: '2000000000', cost_source: 'BOOK', cost_currency: 'USD', cost_book: book },
      { key: 'a2', charged: '5000000000', cost: '4', cost_units: '4000000000', cost_source: 'BOOK', cost_currency: 'USD', cost_book: book },
      { key: 'a3', charged: '1000000000', cost: '0.8', cost_units: '800000000', cost_source: 'ACTUAL', cost_currency: 'USD', cost_book: null },
      { key: 'b1', charged: '4000000000', cost: '0.24', cost_units: '240000000', cost_source: 'BOOK', cost_currency: 'USD', cost_book: book },
      { key: 'b2', charged: '2000000000', cost: null, cost_units: null, cost_source: null, cost_currency: null, cost_book: null },
    ]);
  });

  it('gives revenue, cost, margin and margin % by model, customer, plan and day, with totals', async () => {
    const model = await margins('MODEL');
    expect(model.groupBy).toBe('MODEL');
    expect(model.rows).toEqual([
      row('gpt-4o', 2, '7.5', '6', '1.5', '20'),
      row('gpt-4o-mini', 1, '4', '0.24', '3.76', '94'),
      row('llama-3.1-405b', 1, '1', '0.8', '0.2', '20'),
      // Its revenue counts; its cost is unknown, not zero, and the row says so.
      row('mistral-large', 1, '2', '0', '2', '100', 1),
    ]);
    expect(model.totals).toEqual([total]);

    const customer = await margins('CUSTOMER');
    expect(customer.rows).toEqual(byKey([rowA(a.externalId), rowB(b.externalId)]));
    expect(customer.totals).toEqual([total]);

    const plan = await margins('PLAN');
    expect(plan.rows).toEqual([rowA('api'), rowB('hybrid')]);

    const day = await margins('DAY');
    expect(day.rows).toEqual([rowA(dayA.toISOString().slice(0, 10)), rowB(dayB.toISOString().slice(0, 10))]);
    expect(day.totals).toEqual([total]);

    const onlyB = await margins('MODEL', b.externalId);
    expect(onlyB.rows.map((r) => r.key)).toEqual(['gpt-4o-mini', 'mistral-large']);
    expect(onlyB.totals).toEqual([{ ...rowB('(total)') }]);
    expect((await margins('MODEL', b.customerId)).totals).toEqual(onlyB.totals);
  });

  it('counts revenue to the unit as the ledger took it', async () => {
    const [ledger] = await t.app.sql.query<{ usage: string }>(`select (-sum(amount))::text as usage from ledger_entry where kind = 'USAGE' and wallet_id = any($1::uuid[])`, [[a.walletId, b.walletId]]);
    const { totals } = await margins('CUSTOMER');
    expect(ledger!.usage).toBe('14500000000');
    expect(totals[0]!.revenue).toBe('14.5');
  });

  it('refuses a window that is empty, reversed or too long, an unknown customer, and callers other than ADMIN', async () => {
    const ask = (f: Date, tt: Date, customerId?: string) => t.admin.request(MarginsDocument, { from: f.toISOString(), to: tt.toISOString(), groupBy: 'MODEL', customerId });
    expect(codesOf(await ask(to, to))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await ask(to, from))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await ask(from, new Date(from.getTime() + 93 * 24 * 60 * MINUTE)))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await ask(from, new Date(from.getTime() + 92 * 24 * 60 * MINUTE)))).toEqual([]);
    expect(codesOf(await ask(from, to, 'nobody'))).toEqual(['VALIDATION_FAILED']);
    const { secret } = await t.app.services.apiKeys.create({ name: 'ingest', role: Role.INGEST });
    expect(codesOf(await t.client(secret).request(MarginsDocument, { from: from.toISOString(), to: to.toISOString(), groupBy: 'MODEL' }))).toEqual(['FORBIDDEN']);
  });

  it('never lets a cost book price usage: a plan cannot name one, and a plan that named the key before it became one is refused', async () => {
    const plan = await t.admin.request(CreatePlanDocument, {
      input: { code: 'at-cost', name: 'At cost', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '0', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'provider-costs' }] },
    });
    expect(codesOf(plan)).toEqual(['VALIDATION_FAILED']);
    expect(JSON.stringify(plan.errors)).toContain('is a cost book');

    await t.admin.ok(CreatePlanDocument, { input: { code: 'later', name: 'Later', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '0', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'later-costs' }] } });
    const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId: `later-${process.pid}`, name: 'later', currency: 'USD' } })).createCustomer;
    await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: 'later', startsAt: new Date(now - 3_600_000).toISOString() } });
    const doc = JSON.parse(await readFile(path.join(rulesDir, 'provider-costs/v1.json'), 'utf8'));
    await mkdir(path.join(rulesDir, 'later-costs'));
    await writeFile(path.join(rulesDir, 'later-costs/v1.json'), JSON.stringify({ ...doc, key: 'later-costs' }, null, 2));
    // A later version may not turn the cost book into a price rule set.
    await writeFile(path.join(rulesDir, 'later-costs/v2.json'), JSON.stringify({ ...doc, key: 'later-costs', version: 2, purpose: 'price', effectiveFrom: '2099-01-01T00:00:00Z' }, null, 2));
    await t.app.services.rules.reload();
    const v2 = t.app.services.rules.status().find((e) => e.key === 'later-costs' && e.version === 2);
    expect(v2?.status).toBe('INVALID');
    expect(v2?.errors[0]).toMatchObject({ pointer: '/purpose', message: expect.stringMatching(/^a rule set keeps its purpose: version 1 of "later-costs" is a cost book/) });

    const r = await t.admin.request(RecordUsageDocument, {
      input: { customerId: customer.id, meterCode: 'llm_tokens', quantity: '1000', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: 'later-1' },
    });
    expect(codesOf(r)).toEqual(['RULE_SET_IS_COST_BOOK']);
    const [stored] = await t.app.sql.query<{ n: string }>('select count(*)::text as n from usage_event where customer_id = $1', [customer.id]);
    expect(stored!.n).toBe('0');
  });

  it('billing margins prints the same report, as JSON and as a table', async () => {
    const env = { DATABASE_URL: t.db.url, LOG_LEVEL: 'error' };
    const json = await runBilling(['margins', '--from', from.toISOString(), '--to', to.toISOString(), '--by', 'customer', '--json'], env);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.groupBy).toBe('CUSTOMER');
    expect(report.rows).toEqual((await margins('CUSTOMER')).rows);
    expect(report.totals).toEqual([total]);

    const table = await runBilling(['margins', '--from', from.toISOString(), '--to', to.toISOString()], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^gpt-4o\s+USD\s+2\s+7\.5\s+6\s+1\.5\s+20%\s+0$/m);
    expect(table.stdout).toMatch(/^mistral-large\s+USD\s+1\s+2\s+0\s+2\s+100%\s+1$/m);
    expect(table.stdout).toMatch(/^\(total\)\s+USD\s+5\s+14\.5\s+7\.04\s+7\.46\s+51\.45%\s+1$/m);

    const one = JSON.parse((await runBilling(['margins', '--from', from.toISOString(), '--to', to.toISOString(), '--by', 'plan', '--customer', a.externalId, '--json'], env)).stdout);
    expect(one.rows).toEqual([rowA('api')]);

    const reversed = await runBilling(['margins', '--from', to.toISOString(), '--to', from.toISOString()], env);
    expect(reversed.code).toBe(1);
    expect(reversed.stderr).toBe('--to: must be after from\n');
    const badBy = await runBilling(['margins', '--from', from.toISOString(), '--to', to.toISOString(), '--by', 'region'], env);
    expect(badBy.code).toBe(2);
    expect(badBy.stderr).toMatch(/--by: must be one of model, customer, plan, day/);
  });
});
