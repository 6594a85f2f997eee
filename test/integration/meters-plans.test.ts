import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateCreditUnitDocument,
  CreateMeterDocument,
  CreatePlanDocument,
  CreatePlanVersionDocument,
  MetersDocument,
  PlanDocument,
  PlansDocument,
  PlanVersionsDocument,
} from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await t.admin.ok(CreateMeterDocument, {
    input: { code: 'llm_tokens', name: 'LLM tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'tokenType'] },
  });
  await t.admin.ok(CreateMeterDocument, { input: { code: 'images', name: 'Images', aggregation: 'COUNT', dimensions: ['size'] } });
});
afterAll(() => t.close());

describe('meters', () => {
  it('lists meters by code', async () => {
    const { meters } = await t.admin.ok(MetersDocument, { first: 10 });
    expect(meters.nodes).toEqual([
      { code: 'images', aggregation: 'COUNT' },
      { code: 'llm_tokens', aggregation: 'SUM' },
    ]);
  });

  it('refuses meters whose aggregation and property do not fit', async () => {
    const count = await t.admin.request(CreateMeterDocument, { input: { code: 'c1', name: 'c', aggregation: 'COUNT', property: 'tokens' } });
    const sum = await t.admin.request(CreateMeterDocument, { input: { code: 'c2', name: 'c', aggregation: 'UNIQUE_COUNT', dimensions: ['user'] } });
    const unique = await t.admin.request(CreateMeterDocument, { input: { code: 'c3', name: 'c', aggregation: 'UNIQUE_COUNT', property: 'user', dimensions: ['model'] } });
    const dup = await t.admin.request(CreateMeterDocument, { input: { code: 'images', name: 'again', aggregation: 'COUNT' } });
    const badDims = await t.admin.request(CreateMeterDocument, { input: { code: 'c4', name: 'c', aggregation: 'COUNT', dimensions: ['ok', 'ok', 'bad key'] } });
    expect([count, sum, unique, badDims].map(codesOf)).toEqual([['VALIDATION_FAILED'], ['VALIDATION_FAILED'], ['VALIDATION_FAILED'], ['VALIDATION_FAILED']]);
    expect(codesOf(dup)).toEqual(['ALREADY_EXISTS']);
    // SUM, MAX and LATEST measure the quantity: their property is an optional label.
    const label = await t.admin.ok(CreateMeterDocument, { input: { code: 'c5', name: 'c', aggregation: 'SUM' } });
    expect(label.createMeter.meter).toMatchObject({ aggregation: 'SUM', property: null });
  });

  it('creates RECURRING meters (a level held until changed), with or without a label', async () => {
    const labelled = await t.admin.ok(CreateMeterDocument, { input: { code: 'seats_r', name: 'Seats', aggregation: 'RECURRING', property: 'seats', dimensions: ['team'] } });
    expect(labelled.createMeter.meter).toMatchObject({ code: 'seats_r', aggregation: 'RECURRING', property: 'seats', dimensions: ['team'] });
    const bare = await t.admin.ok(CreateMeterDocument, { input: { code: 'capacity_r', name: 'Reserved capacity', aggregation: 'RECURRING' } });
    expect(bare.createMeter.meter).toMatchObject({ aggregation: 'RECURRING', property: null });
  });
});

describe('plans', () => {
  it('creates versions, keeps the old ones readable, and lists the latest', async () => {
    const v1 = (
      await t.admin.ok(CreatePlanDocument, {
        input: {
          code: 'pro',
          name: 'Pro',
          currency: 'USD',
          billingInterval: 'MONTHLY',
          baseFee: '49.00',
          charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'ai-price-book', groupBy: ['model'] }],
        },
      })
    ).createPlan.plan;
    expect(v1).toMatchObject({ version: 1, baseFee: '49', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'ai-price-book', groupBy: ['model'] }] });

    const v2 = (await t.admin.ok(CreatePlanVersionDocument, { input: { code: 'pro', baseFee: '59' } })).createPlanVersion.plan;
    expect(v2).toMatchObject({ version: 2, name: 'Pro', baseFee: '59', charges: v1.charges });
    expect(v2.id).not.toBe(v1.id);

    expect((await t.admin.ok(PlanDocument, { code: 'pro' })).plan?.version).toBe(2);
    expect((await t.admin.ok(PlanDocument, { code: 'pro', version: 1 })).plan).toEqual(v1);
    expect((await t.admin.ok(PlanVersionsDocument, { code: 'pro' })).planVersions.nodes.map((p) => p.baseFee)).toEqual(['49', '59']);
    expect((await t.admin.ok(PlansDocument, { first: 10 })).plans.nodes).toContainEqual({ code: 'pro', version: 2 });
  });

  it('refuses unknown meters, foreign dimensions, bad fees and duplicate codes', async () => {
    const input = { code: 'bad', name: 'Bad', currency: 'USD', billingInterval: 'MONTHLY' as const, baseFee: '-1', charges: [{ meterCode: 'nope', ruleSetKey: 'x' }, { meterCode: 'images', ruleSetKey: 'img', groupBy: ['model'] }] };
    const result = await t.admin.request(CreatePlanDocument, { input });
    const fields = (result.errors![0]!.extensions!.fields as Array<{ path: string }>).map((f) => f.path);
    expect(fields).toEqual(['baseFee', 'charges.0.meterCode', 'charges.1.groupBy.0']);
    expect((await t.admin.ok(PlanDocument, { code: 'bad' })).plan).toBeNull();

    await t.admin.ok(CreatePlanDocument, { input: { code: 'starter', name: 'S', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '0' } });
    expect(codesOf(await t.admin.request(CreatePlanDocument, { input: { code: 'starter', name: 'S', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '0' } }))).toEqual(['ALREADY_EXISTS']);
    expect(codesOf(await t.admin.request(CreatePlanVersionDocument, { input: { code: 'unknown' } }))).toEqual(['NOT_FOUND']);
  });

  it('accepts registered credit units as a currency', async () => {
    await t.admin.ok(CreateCreditUnitDocument, { input: { code: 'CREDITS', name: 'Credits', exponent: 0 } });
    const plan = await t.admin.ok(CreatePlanDocument, { input: { code: 'images', name: 'Images', currency: 'CREDITS', billingInterval: 'MONTHLY', baseFee: '0' } });
    expect(plan.createPlan.plan.currency).toBe('CREDITS');
    expect(codesOf(await t.admin.request(CreateCreditUnitDocument, { input: { code: 'EUR', name: 'no' } }))).toEqual(['VALIDATION_FAILED']);
  });
});
