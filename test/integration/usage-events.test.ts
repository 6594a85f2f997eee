import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateApiKeyDocument, RecordUsageDocument, UsageEventsDocument, type UsageEventsQuery, type UsageEventsQueryVariables } from '../generated/graphql.js';
import { codesOf, type TestClient } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

let t: TestApp;
let a: Funded;
let b: Funded;
const base = Date.now() - 3 * 86_400_000;
/** Event i of customer a happened at base + i hours; events 3 and 4 at the same instant. */
const at = (i: number) => new Date(base + Math.min(i, 3) * 3_600_000 + (i > 4 ? (i - 4) * 3_600_000 : 0));

async function record(c: Funded, key: string, timestamp: Date, dimensions = { model: 'gpt-4o', tokenType: 'input' }) {
  const r = await t.admin.ok(RecordUsageDocument, { input: { ...gpt4oInput(c.customerId, key), dimensions, timestamp: timestamp.toISOString() } });
  expect(r.recordUsage.status).toBe('ACCEPTED');
  return r.recordUsage.event!.id;
}

/** Every page of a listing, following endCursor. */
async function walk(client: TestClient, vars: UsageEventsQueryVariables) {
  const ids: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 20; pages++) {
    const page: UsageEventsQuery['usageEvents'] = (await client.ok(UsageEventsDocument, { ...vars, after })).usageEvents;
    ids.push(...page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor!;
  }
  throw new Error('too many pages');
}

beforeAll(async () => {
  t = await startTestApp();
  await setupCatalogue(t);
  const startsAt = new Date(base - 86_400_000);
  a = await fundedCustomer(t, '100', { startsAt });
  b = await fundedCustomer(t, '100', { startsAt });
  for (let i = 0; i < 7; i++) await record(a, `a-${i}`, at(i), i === 6 ? { model: 'gpt-4o', tokenType: 'output' } : undefined);
  await record(b, 'b-0', at(2));
});
afterAll(() => t.close());

describe('usageEvents', () => {
  it('lists a customer’s events newest first, by timestamp then id, a page at a time with opaque cursors', async () => {
    const first = (await t.admin.ok(UsageEventsDocument, { customerId: a.customerId, first: 3 })).usageEvents;
    expect(first.edges.map((e) => e.node.idempotencyKey)).toEqual(['a-6', 'a-5', expect.stringMatching(/^a-[34]$/)]);
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges[2]!.cursor });
    expect(first.edges[0]!.node.dimensions).toEqual({ model: 'gpt-4o', tokenType: 'output' });
    expect(first.edges[1]!.node).toEqual({
      id: expect.any(String),
      customerId: a.customerId,
      meterCode: 'llm_tokens',
      quantity: '100000',
      timestamp: at(5).toISOString(),
      idempotencyKey: 'a-5',
      dimensions: { model: 'gpt-4o', tokenType: 'input' },
      values: {},
      currency: 'USD',
      amount: '0.25',
      charged: '0.25',
      ruleSet: { key: 'ai-price-book', version: expect.any(Number) },
      firedRules: expect.arrayContaining([expect.any(String)]),
    });
    // The cursor is opaque: it does not show the event it points at.
    expect(first.pageInfo.endCursor).not.toContain(first.edges[2]!.node.id);

    const ids = await walk(t.admin, { customerId: a.customerId, first: 2 });
    const rows = await t.app.sql.query<{ id: string }>('select id from usage_event where customer_id = $1 order by occurred_at desc, id desc', [a.customerId]);
    expect(ids).toEqual(rows.map((r) => r.id));
    const oldest = await walk(t.admin, { customerId: a.customerId, first: 2, order: 'OLDEST_FIRST' });
    expect(oldest).toEqual([...ids].reverse());
  });

  it('stays stable while events are recorded between pages: nothing repeats or goes missing', async () => {
    const c = await fundedCustomer(t, '100', { startsAt: new Date(base - 86_400_000) });
    for (let i = 0; i < 4; i++) await record(c, `c-${i}`, at(i));
    const page1 = (await t.admin.ok(UsageEventsDocument, { customerId: c.customerId, first: 2 })).usageEvents;
    // A newer event, and one at the very instant of the last one read.
    await record(c, 'c-new', new Date());
    await record(c, 'c-tie', at(2));
    const rest = await walk(t.admin, { customerId: c.customerId, first: 2 });
    const after = [];
    let cursor: string | null = page1.pageInfo.endCursor;
    for (;;) {
      const page = (await t.admin.ok(UsageEventsDocument, { customerId: c.customerId, first: 2, after: cursor })).usageEvents;
      after.push(...page.edges.map((e) => e.node.idempotencyKey));
      if (!page.pageInfo.hasNextPage) break;
      cursor = page.pageInfo.endCursor;
    }
    const seen = [...page1.edges.map((e) => e.node.idempotencyKey), ...after];
    expect(new Set(seen).size).toBe(seen.length);
    for (const key of ['c-0', 'c-1', 'c-2', 'c-3']) expect(seen).toContain(key);
    expect(seen).not.toContain('c-new');
    expect(rest).toHaveLength(6);
  });

  it('filters by meter, time range and dimension values', async () => {
    const keys = async (vars: UsageEventsQueryVariables) => (await t.admin.ok(UsageEventsDocument, { customerId: a.customerId, first: 50, ...vars })).usageEvents.edges.map((e) => e.node.idempotencyKey);
    const inRange = await keys({ from: at(1).toISOString(), to: at(5).toISOString() });
    expect([...inRange].sort()).toEqual(['a-1', 'a-2', 'a-3', 'a-4']);
    expect(await keys({ filter: [{ key: 'tokenType', values: ['output'] }] })).toEqual(['a-6']);
    expect(await keys({ filter: [{ key: 'tokenType', values: ['output', 'input'] }, { key: 'model', values: ['gpt-4o'] }] })).toHaveLength(7);
    expect(await keys({ meterCode: 'images' })).toEqual([]);
    expect(await keys({ meterCode: 'llm_tokens' })).toHaveLength(7);
  });

  it('shows a CUSTOMER key its own events only, and requires its customerId', async () => {
    const key = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'a', role: 'CUSTOMER', customerId: a.customerId } })).createApiKey.secret;
    const own = t.client(key);
    const mine = await walk(own, { customerId: a.customerId, first: 50 });
    expect(mine).toHaveLength(7);
    expect(codesOf(await own.request(UsageEventsDocument, { customerId: b.customerId }))).toEqual(['FORBIDDEN']);
    const missing = await own.request(UsageEventsDocument, { from: at(0).toISOString(), to: at(6).toISOString() });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: 'customerId', message: expect.stringContaining('required') }] });
  });

  it('lists every customer’s events for an ADMIN key within a bounded range only', async () => {
    const all = await walk(t.admin, { from: at(2).toISOString(), to: at(3).toISOString(), first: 1 });
    const rows = await t.app.sql.query<{ id: string }>('select id from usage_event where occurred_at >= $1 and occurred_at < $2 order by occurred_at desc, id desc', [at(2), at(3)]);
    expect(all).toEqual(rows.map((r) => r.id));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const unbounded = await t.admin.request(UsageEventsDocument, {});
    expect(unbounded.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: 'from' }, { path: 'to' }] });
    const tooLong = await t.admin.request(UsageEventsDocument, { from: new Date(base - 8 * 86_400_000).toISOString(), to: at(0).toISOString() });
    expect(tooLong.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: 'to', message: expect.stringContaining('7 days') }] });
  });

  it('refuses pages over 100, foreign cursors and a cursor of the other order', async () => {
    const big = await t.admin.request(UsageEventsDocument, { customerId: a.customerId, first: 101 });
    expect(big.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: 'first' }] });
    const forged = await t.admin.request(UsageEventsDocument, { customerId: a.customerId, after: Buffer.from('c1:N|yesterday|x').toString('base64url') });
    expect(forged.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: 'after' }] });
    const page = (await t.admin.ok(UsageEventsDocument, { customerId: a.customerId, first: 1 })).usageEvents;
    const crossed = await t.admin.request(UsageEventsDocument, { customerId: a.customerId, order: 'OLDEST_FIRST', after: page.pageInfo.endCursor });
    expect(crossed.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: 'after', message: expect.stringContaining('another order') }] });
  });
});
