import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateMeterDocument, CreatePlanDocument, PreviewChargeDocument, RuleSetsDocument } from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const shippedRules = new URL('../../rules/', import.meta.url);

let t: TestApp;
let dir: string;

/** Waits until the server has reloaded the rule folder and `ok` holds. */
async function eventually(ok: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 100; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const gpt4oInput = (timestamp?: string) => ({
  ruleSetKey: 'ai-price-book',
  meterCode: 'llm_tokens',
  quantity: '1000000',
  dimensions: { model: 'gpt-4o', tokenType: 'input' },
  ...(timestamp ? { timestamp } : {}),
});

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'billing-rules-'));
  await cp(shippedRules, dir, { recursive: true });
  t = await startTestApp({ env: { RULES_DIR: dir, RULES_WATCH: 'true' } });
  await t.admin.ok(CreateMeterDocument, { input: { code: 'llm_tokens', name: 'LLM tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'tokenType'] } });
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ruleSets', () => {
  it('lists the shipped versions as serving, with effective dates and content hashes', async () => {
    const ruleSets = (await t.admin.ok(RuleSetsDocument, {})).ruleSets.nodes;
    expect(ruleSets.map((r) => [r.key, r.version, r.status, r.file, r.purpose])).toEqual([
      ['ai-price-book', 1, 'SERVING', 'ai-price-book/v1.json', 'PRICE'],
      ['ai-price-book', 2, 'SERVING', 'ai-price-book/v2.json', 'PRICE'],
      ['hybrid-plan', 1, 'SERVING', 'hybrid-plan/v1.json', 'PRICE'],
      ['image-credits', 1, 'SERVING', 'image-credits/v1.json', 'PRICE'],
      ['platform-plan', 1, 'SERVING', 'platform-plan/v1.json', 'PRICE'],
      ['provider-costs', 1, 'SERVING', 'provider-costs/v1.json', 'COST'],
    ]);
    expect(ruleSets.every((r) => /^[0-9a-f]{64}$/.test(r.hash ?? ''))).toBe(true);
    const published = await t.app.sql.query<{ n: number }>('select count(*)::int as n from rule_set_version');
    expect(published).toEqual([{ n: 6 }]);
  });
});

describe('previewCharge', () => {
  it('prices an event with the version in force at its timestamp and names the rules that fired', async () => {
    const march = (await t.admin.ok(PreviewChargeDocument, { input: gpt4oInput('2026-03-01T00:00:00Z') })).previewCharge;
    expect(march).toMatchObject({ ruleSet: { key: 'ai-price-book', version: 1 }, firedRules: ['gpt-4o input tokens'], amount: '2.5', charged: '2.5', refusal: null });
    expect(march.lines[0]).toMatchObject({ componentId: 'gpt-4o-input', model: 'graduated', tiers: [{ tier: 1, quantity: '1000000', unitPrice: '0.0000025' }] });
    const august = (await t.admin.ok(PreviewChargeDocument, { input: gpt4oInput('2026-08-01T00:00:00Z') })).previewCharge;
    expect(august.ruleSet.version).toBe(2);
  });

  it('uses the period-to-date quantity, an aggregate, and plans', async () => {
    const late = await t.admin.ok(PreviewChargeDocument, { input: { ...gpt4oInput('2026-03-01T00:00:00Z'), periodQuantity: '150000000' } });
    expect(late.previewCharge.amount).toBe('2');
    const month = await t.admin.ok(PreviewChargeDocument, { input: { ...gpt4oInput('2026-03-01T00:00:00Z'), quantity: '120000000', aggregate: true, events: 40 } });
    expect(month.previewCharge.amount).toBe('267.5');
    await t.admin.ok(CreatePlanDocument, { input: { code: 'starter', name: 'Starter', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '49', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'hybrid-plan' }] } });
    const viaPlan = await t.admin.ok(PreviewChargeDocument, { input: { planCode: 'starter', meterCode: 'llm_tokens', quantity: '2000000', timestamp: '2026-03-01T00:00:00Z' } });
    expect(viaPlan.previewCharge).toMatchObject({ ruleSet: { key: 'hybrid-plan' }, amount: '4' });
  });

  it('shows refusals and refuses bad input', async () => {
    const retired = await t.admin.ok(PreviewChargeDocument, { input: { ...gpt4oInput(), dimensions: { model: 'gpt-3.5-turbo', tokenType: 'input' } } });
    expect(retired.previewCharge.refusal).toMatchObject({ code: 'MODEL_RETIRED' });
    const bad = await t.admin.request(PreviewChargeDocument, { input: { ...gpt4oInput(), quantity: '0', dimensions: { __proto__: 'x', colour: 'red' } } });
    expect(codesOf(bad)).toEqual(['VALIDATION_FAILED']);
    const unknown = await t.admin.request(PreviewChargeDocument, { input: { ...gpt4oInput(), ruleSetKey: 'nope' } });
    expect(codesOf(unknown)).toEqual(['NOT_FOUND']);
  });
});

describe('hot reload', () => {
  it('refuses a broken file with file, line and column, keeps serving, and takes the fix', async () => {
    const v3 = JSON.parse(await readFile(path.join(dir, 'ai-price-book/v2.json'), 'utf8'));
    v3.version = 3;
    v3.effectiveFrom = '2026-09-01T00:00:00Z';
    v3.rules[1].event.params.tiers[0].unitPrice = '2.00';
    // The description repeats the price, so it changes with it (a stale one is refused).
    v3.rules[1].event.params.description = 'gpt-4o input tokens (per 1M: 2.00)';
    // September lies in the past: ai-price-book has published versions, so the file must say so.
    v3.backdated = { reason: 'the September price was agreed late' };
    const good = JSON.stringify(v3, null, 2);
    const broken = good.replace('"2.00"', '"two dollars"');
    await writeFile(path.join(dir, 'ai-price-book/v3.json'), broken);
    await eventually(async () => (await t.admin.ok(RuleSetsDocument, { key: 'ai-price-book' })).ruleSets.nodes.some((r) => r.status === 'INVALID'), 'the broken file to be refused');

    const invalid = (await t.admin.ok(RuleSetsDocument, { key: 'ai-price-book' })).ruleSets.nodes.find((r) => r.status === 'INVALID')!;
    const line = broken.split('\n').findIndex((l) => l.includes('"two dollars"')) + 1;
    expect(invalid).toMatchObject({ file: 'ai-price-book/v3.json', version: 3 });
    expect(invalid.errors).toEqual([{ file: 'ai-price-book/v3.json', line, column: expect.any(Number), pointer: '/rules/1/event/params/tiers/0/unitPrice', message: expect.stringMatching(/decimal/) }]);
    const stillV2 = await t.admin.ok(PreviewChargeDocument, { input: gpt4oInput('2026-10-01T00:00:00Z') });
    expect(stillV2.previewCharge).toMatchObject({ ruleSet: { version: 2 }, amount: '2.5' });

    const notSaid = JSON.stringify({ ...v3, backdated: undefined }, null, 2);
    await writeFile(path.join(dir, 'ai-price-book/v3.json'), notSaid);
    await eventually(
      async () => (await t.admin.ok(RuleSetsDocument, { key: 'ai-price-book' })).ruleSets.nodes.some((r) => r.version === 3 && r.errors[0]?.pointer === '/effectiveFrom'),
      'the backdated file to be refused',
    );
    const late = (await t.admin.ok(RuleSetsDocument, { key: 'ai-price-book' })).ruleSets.nodes.find((r) => r.version === 3)!;
    const fromLine = notSaid.split('\n').findIndex((l) => l.includes('"effectiveFrom"')) + 1;
    expect(late).toMatchObject({ status: 'INVALID', errors: [{ file: 'ai-price-book/v3.json', line: fromLine, pointer: '/effectiveFrom', message: expect.stringMatching(/^takes effect at 2026-09-01T00:00:00Z, before it is published .*"backdated"/) }] });
    expect((await t.admin.ok(PreviewChargeDocument, { input: gpt4oInput('2026-10-01T00:00:00Z') })).previewCharge.ruleSet.version).toBe(2);

    await writeFile(path.join(dir, 'ai-price-book/v3.json'), good);
    await eventually(async () => (await t.admin.ok(RuleSetsDocument, { key: 'ai-price-book' })).ruleSets.nodes.some((r) => r.version === 3 && r.status === 'SERVING'), 'the fixed file to be served');
    const v3Price = await t.admin.ok(PreviewChargeDocument, { input: gpt4oInput('2026-10-01T00:00:00Z') });
    expect(v3Price.previewCharge).toMatchObject({ ruleSet: { version: 3 }, amount: '2' });
    const before = await t.admin.ok(PreviewChargeDocument, { input: gpt4oInput('2026-08-01T00:00:00Z') });
    expect(before.previewCharge.ruleSet.version).toBe(2);
  });

  it('shows a version whose effectiveFrom is ahead as SCHEDULED, and prices with it from then on', async () => {
    const v4 = JSON.parse(await readFile(path.join(dir, 'ai-price-book/v3.json'), 'utf8'));
    v4.version = 4;
    v4.effectiveFrom = '2099-01-01T00:00:00Z';
    delete v4.backdated;
    await writeFile(path.join(dir, 'ai-price-book/v4.json'), JSON.stringify(v4, null, 2));
    await eventually(async () => (await t.admin.ok(RuleSetsDocument, { key: 'ai-price-book' })).ruleSets.nodes.some((r) => r.version === 4), 'the scheduled version to be published');
    const statuses = (await t.admin.ok(RuleSetsDocument, { key: 'ai-price-book' })).ruleSets.nodes.map((r) => [r.version, r.status]);
    expect(statuses).toEqual([[1, 'SERVING'], [2, 'SERVING'], [3, 'SERVING'], [4, 'SCHEDULED']]);
    expect((await t.admin.ok(PreviewChargeDocument, { input: gpt4oInput('2099-02-01T00:00:00Z') })).previewCharge.ruleSet.version).toBe(4);
  });

  it('refuses a change to a published version and keeps serving what was published', async () => {
    const file = path.join(dir, 'ai-price-book/v1.json');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace('gpt-4o input tokens (per 1M', 'GPT-4o input tokens (per 1M'));
    await eventually(async () => (await t.admin.ok(RuleSetsDocument, { key: 'ai-price-book' })).ruleSets.nodes.some((r) => r.status === 'CHANGED_AFTER_PUBLISHING'), 'the change to be refused');
    const refused = (await t.admin.ok(RuleSetsDocument, { key: 'ai-price-book' })).ruleSets.nodes.find((r) => r.status === 'CHANGED_AFTER_PUBLISHING')!;
    expect(refused.errors[0]!.message).toMatch(/version 1 of "ai-price-book" was published .* put the change in v2\.json/);
    const march = await t.admin.ok(PreviewChargeDocument, { input: gpt4oInput('2026-03-01T00:00:00Z') });
    expect(march.previewCharge).toMatchObject({ ruleSet: { version: 1 }, amount: '2.5' });
    await expect(t.app.sql.query(`update rule_set_version set hash = 'x' where key = 'ai-price-book'`)).rejects.toThrow(/immutable/);
    await writeFile(file, original);
  });
});
