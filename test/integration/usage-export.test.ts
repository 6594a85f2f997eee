import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import {
  CreateApiKeyDocument,
  CreateCustomerDocument,
  CreateCustomerTokenDocument,
  CreateMeterDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  RecordUsageBatchDocument,
  UsageDocument,
  UsageFilteredDocument,
} from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Calls per project and API key at 0.002 each, tokens at 0.000001 each. */
const RULE_SET = {
  key: 'export-kinds',
  version: 1,
  effectiveFrom: '2026-01-01T00:00:00Z',
  currency: 'USD',
  description: 'Per-unit prices for the usage export tests.',
  rules: Object.entries({ calls: '0.002', tokens: '0.000001' }).map(([meter, unitPrice]) => ({
    name: `${meter} per unit`,
    conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: meter }] },
    event: { type: 'charge', params: { id: meter, description: meter, model: 'per_unit', unitPrice } },
  })),
};

/** Values a spreadsheet would run, and values that need RFC 4180 quoting. */
const FORMULA = '=HYPERLINK("https://evil.example","x")';
const QUOTED = 'Acme, "R&D"';

const NOW = new Date('2026-03-20T12:00:00Z');
let t: TestApp;
let rulesDir: string;
let origin: string;
let customerId: string;
let otherId: string;
let seq = 0;

async function newCustomer(): Promise<string> {
  const externalId = `ex-${process.pid}-${seq++}`;
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD', timezone: 'Europe/Paris' } })).createCustomer;
  await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: 'export', startsAt: '2026-01-01T00:00:00Z' } });
  return customer.id;
}

beforeAll(async () => {
  rulesDir = await mkdtemp(path.join(tmpdir(), 'usage-export-rules-'));
  await mkdir(path.join(rulesDir, 'export-kinds'));
  await writeFile(path.join(rulesDir, 'export-kinds', 'v1.json'), JSON.stringify(RULE_SET, null, 2));
  // A read budget of one operation's cost limit a minute, so that a test can spend it.
  t = await startTestApp({ clock: new FixedClock(NOW), env: { RULES_DIR: rulesDir, RULES_WATCH: 'false', RATE_LIMIT_READ_MULTIPLE: '1' } });
  origin = new URL(t.url).origin;
  await t.admin.ok(CreateMeterDocument, { input: { code: 'calls', name: 'API calls', aggregation: 'COUNT', dimensions: ['project', 'apiKey'] } });
  await t.admin.ok(CreateMeterDocument, { input: { code: 'tokens', name: 'Tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['project', 'apiKey'] } });
  await t.admin.ok(CreatePlanDocument, {
    input: { code: 'export', name: 'Export', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '0', charges: ['calls', 'tokens'].map((meterCode) => ({ meterCode, ruleSetKey: 'export-kinds' })) },
  });
  customerId = await newCustomer();
  otherId = await newCustomer();
  const event = (meterCode: string, at: string, project: string, apiKey: string, quantity?: string) => ({ customerId, meterCode, timestamp: at, quantity, dimensions: { project, apiKey }, idempotencyKey: `e-${seq++}` });
  const events = [
    // 10 March in Paris (UTC+1): 09:00Z is 10:00 local.
    event('calls', '2026-03-10T09:00:00Z', 'web', 'key-1'),
    event('calls', '2026-03-10T09:05:00Z', 'web', 'key-1'),
    event('calls', '2026-03-10T09:10:00Z', FORMULA, 'key-2'),
    event('tokens', '2026-03-10T09:15:00Z', 'web', 'key-1', '1500'),
    // 11 March, just after local midnight (23:30Z on the 10th).
    event('calls', '2026-03-10T23:30:00Z', QUOTED, 'key-2'),
    event('tokens', '2026-03-10T23:45:00Z', QUOTED, 'key-2', '250'),
  ];
  const r = (await t.admin.ok(RecordUsageBatchDocument, { input: { events } })).recordUsageBatch;
  expect(r.allAccepted, JSON.stringify(r.results.find((x) => x.status !== 'ACCEPTED'))).toBe(true);
});

afterAll(async () => {
  await t?.close();
  await rm(rulesDir, { recursive: true, force: true });
});

const RANGE = { from: '2026-03-09T23:00:00Z', to: '2026-03-11T23:00:00Z' };

function exportUrl(params: Record<string, string | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) q.append(k, one);
  return `${origin}/v1/usage/export?${q}`;
}

const get = (url: string, key?: string) => fetch(url, key ? { headers: { authorization: `Bearer ${key}` } } : {});

/** RFC 4180 parsing, strict enough to fail on a stray quote: the rows as arrays of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), (i += 2);
      else if (c === '"') (quoted = false), i++;
      else (cell += c), i++;
    } else if (c === '"' && cell === '') (quoted = true), i++;
    else if (c === ',') row.push(cell), (cell = ''), i++;
    else if (c === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), (i += 2);
    else if (c === '"' || c === '\n') throw new Error(`not RFC 4180 at ${i}: ${JSON.stringify(text.slice(i - 10, i + 10))}`);
    else (cell += c), i++;
  }
  if (cell !== '' || row.length > 0) throw new Error('the last row does not end with CRLF');
  return rows;
}

describe('GET /v1/usage/export', () => {
  it('streams the usage report as RFC 4180 CSV, in the customer zone, with display names and safe cells', async () => {
    const res = await get(exportUrl({ customerId, ...RANGE, bucket: 'DAY', groupBy: 'meter,project' }), t.adminKey);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="usage-2026-03-09-2026-03-11.csv"');
    // Written row by row: no length known up front.
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const text = await res.text();
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(['bucket_start', 'bucket_end', 'meter', 'meter_name', 'project', 'currency', 'quantity', 'events', 'amount', 'charged']);
    const day10 = ['2026-03-10T00:00:00+01:00', '2026-03-11T00:00:00+01:00'];
    const day11 = ['2026-03-11T00:00:00+01:00', '2026-03-12T00:00:00+01:00'];
    expect(rows.slice(1)).toEqual([
      [...day10, 'calls', 'API calls', `'${FORMULA}`, 'USD', '1', '1', '0.002', '0.002'],
      [...day10, 'calls', 'API calls', 'web', 'USD', '2', '2', '0.004', '0.004'],
      [...day10, 'tokens', 'Tokens', 'web', 'USD', '1500', '1', '0.0015', '0.0015'],
      [...day11, 'calls', 'API calls', QUOTED, 'USD', '1', '1', '0.002', '0.002'],
      [...day11, 'tokens', 'Tokens', QUOTED, 'USD', '250', '1', '0.00025', '0.00025'],
    ]);
    // Quoting as RFC 4180 writes it.
    expect(text).toContain(`,"Acme, ""R&D""",`);
    expect(text).toContain(`,"'=HYPERLINK(""https://evil.example"",""x"")",`);

    // The same figures as the usage query.
    const report = (await t.admin.ok(UsageDocument, { customerId, ...RANGE, granularity: 'DAY', groupBy: { meter: true, dimensions: ['project'] } })).usage;
    const charged = report.buckets.flatMap((b) => b.groups.map((g) => g.charged));
    expect(rows.slice(1).map((r) => r[9])).toEqual(charged);
  });

  it('filters by dimension values and meters, like the usage query does', async () => {
    const filtered = await get(exportUrl({ customerId, ...RANGE, bucket: 'MONTH', groupBy: 'apiKey', filter: ['apiKey:key-2', 'project:web', `project:${QUOTED}`] }), t.adminKey);
    expect(filtered.status).toBe(200);
    const rows = parseCsv(await filtered.text());
    expect(rows).toEqual([
      ['bucket_start', 'bucket_end', 'apiKey', 'currency', 'events', 'amount', 'charged'],
      ['2026-03-01T00:00:00+01:00', '2026-04-01T00:00:00+02:00', 'key-2', 'USD', '2', '0.00225', '0.00225'],
    ]);
    const onlyCalls = parseCsv(await (await get(exportUrl({ customerId, ...RANGE, bucket: 'MONTH', meter: 'calls' }), t.adminKey)).text());
    expect(onlyCalls.slice(1).map((r) => r[3])).toEqual(['4']);

    const gql = (await t.admin.ok(UsageFilteredDocument, { customerId, ...RANGE, granularity: 'MONTH', groupBy: { meter: true }, filter: [{ key: 'apiKey', values: ['key-1'] }] })).usage;
    expect(gql.buckets.flatMap((b) => b.groups.map((g) => [g.meterCode, g.quantity, g.events]))).toEqual([
      ['calls', '2', 2],
      ['tokens', '1500', 1],
    ]);
    const bad = await t.admin.request(UsageFilteredDocument, { customerId, ...RANGE, granularity: 'MONTH', filter: [{ key: 'not a key', values: [] }] });
    expect(codesOf(bad)).toEqual(['VALIDATION_FAILED']);
  });

  it('is authorised like the usage query: its own customer for a token, nothing without a reading credential', async () => {
    const { token } = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId } })).createCustomerToken;
    // A customer token exports its own customer without naming it.
    const own = await get(exportUrl({ ...RANGE, groupBy: 'project' }), token);
    expect(own.status).toBe(200);
    expect(parseCsv(await own.text()).length).toBe(4);

    const errorOf = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code });
    expect(await errorOf(await get(exportUrl({ customerId: otherId, ...RANGE }), token))).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await errorOf(await get(exportUrl({ customerId, ...RANGE })))).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    const { secret: ingest } = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'ingest', role: 'INGEST' } })).createApiKey;
    expect(await errorOf(await get(exportUrl({ customerId, ...RANGE }), ingest))).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await errorOf(await get(exportUrl({ customerId, ...RANGE, bucket: 'WEEK' }), t.adminKey))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await errorOf(await get(exportUrl({ customerId, from: RANGE.to, to: RANGE.from }), t.adminKey))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    // The usage query's cost model and limits: forty days of hours in three groupings is too much for a token.
    const costly = await get(exportUrl({ from: '2026-01-01T00:00:00Z', to: '2026-02-10T00:00:00Z', bucket: 'HOUR', groupBy: 'meter,project,apiKey' }), token);
    expect(await errorOf(costly)).toEqual({ status: 400, code: 'QUERY_TOO_COMPLEX' });
  });

  it("draws on the credential's read budget, shared with its GraphQL queries", async () => {
    const { token } = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId } })).createCustomerToken;
    // 40 days by day in two groupings: 20 + 40 × 25 = 1,020 of the token's 2,000 a minute.
    const big = exportUrl({ from: '2026-02-01T00:00:00Z', to: '2026-03-13T00:00:00Z', groupBy: 'meter,project' });
    expect((await get(big, token)).status).toBe(200);
    const refused = await get(big, token);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('RATE_LIMITED');
    const query = await t.client(token).request(UsageDocument, { customerId, ...RANGE, granularity: 'MONTH', groupBy: { meter: true } });
    expect(codesOf(query)).toEqual(['RATE_LIMITED']);
  });
});
