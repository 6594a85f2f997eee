import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseInvoicesDocument, CreateWebhookEndpointDocument, RecordUsageDocument, WalletBalanceChangedDocument } from '../generated/graphql.js';
import { createLogger } from '../../src/shared/logger.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue } from '../support/usage-fixtures.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: OtlpValue }>;
  links?: Array<{ traceId: string; spanId: string }>;
  status?: { code?: number };
}
interface Received {
  service: string | undefined;
  span: OtlpSpan;
}

/** A local server speaking OTLP/HTTP: takes POST /v1/traces (JSON, as the exporter sends it) and keeps the spans. */
async function startOtlpReceiver() {
  const spans: Received[] = [];
  let posts = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return res.writeHead(404).end();
      posts++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{ resource?: { attributes?: Array<{ key: string; value: OtlpValue }> }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const rs of body.resourceSpans) {
        const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
        for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ service, span });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    posts: () => posts,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** A receiver of webhook deliveries answering 200. */
async function startHookReceiver() {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => (received++, res.writeHead(200).end('ok')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received: () => received, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

/** Every JSON log line the app writes. */
function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('debug', stream) };
}

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : v?.boolValue);
};
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** One sample of the scrape: the value of `name{labels}` (labels in any order), or 0 when absent. */
function sample(scrape: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of scrape.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
let hooks: Awaited<ReturnType<typeof startHookReceiver>>;
let logs: ReturnType<typeof captureLogs>;
let t: TestApp;
let metricsUrl: string;

const scrape = async () => (await fetch(metricsUrl)).text();

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  hooks = await startHookReceiver();
  logs = captureLogs();
  t = await startTestApp({
    logger: logs.logger,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_SERVICE_NAME: 'billing-test',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_POLL_MS: '50',
      INVOICE_GRACE_MS: '0',
    },
  });
  metricsUrl = t.url.replace('/graphql', '/metrics');
  await setupCatalogue(t);
});
afterAll(async () => {
  await t?.close();
  await otlp?.close();
  await hooks?.close();
});

/** A GraphQL request over HTTP with extra headers; the response's body and headers. */
async function post(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}`, ...headers }, body: JSON.stringify({ query, variables }) });
  return { headers: res.headers, body: (await res.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> } };
}

describe('tracing', () => {
  it('exports the spans of a usage request to OTLP/HTTP: the caller trace, the operation span over rating, reserve, commit, post and publish', async () => {
    const funded = await fundedCustomer(t, '100');
    const traceId = hex(16);
    const callerSpan = hex(8);
    const { body } = await post(print(RecordUsageDocument), { input: gpt4oInput(funded.customerId, 'trace-1') }, { traceparent: `00-${traceId}-${callerSpan}-01` });
    expect(body.data.recordUsage.status).toBe('ACCEPTED');
    await t.app.tracing.flush();
    const names = ['POST /graphql', 'graphql.mutation RecordUsage', 'usage.prepare', 'usage.rate', 'usage.reserve', 'usage.commit', 'usage.post', 'usage.publish'];
    const spans = await until('the spans of the request', async () => {
      await t.app.tracing.flush();
      const mine = otlp.spans.filter((r) => r.span.traceId === traceId).map((r) => r.span);
      return names.every((n) => mine.some((s) => s.name === n)) && mine;
    });
    expect(otlp.spans.find((r) => r.span.traceId === traceId)!.service).toBe('billing-test');
    const byName = (n: string) => spans.filter((s) => s.name === n);
    const http = byName('POST /graphql')[0]!;
    expect(http.parentSpanId).toBe(callerSpan);
    expect(http.kind).toBe(2); // SERVER
    expect(attr(http, 'http.response.status_code')).toBe(200);
    const operation = byName('graphql.mutation RecordUsage')[0]!;
    expect(operation.parentSpanId).toBe(http.spanId);
    expect(attr(operation, 'graphql.operation.name')).toBe('RecordUsage');
    expect(attr(operation, 'graphql.operation.type')).toBe('mutation');
    for (const n of names.slice(2)) {
      expect(byName(n).length, n).toBeGreaterThan(0);
      for (const s of byName(n)) expect(s.parentSpanId, n).toBe(operation.spanId);
    }
    expect(attr(byName('usage.reserve')[0]!, 'billing.store.kind')).toBe('redis');
    // The caller's commit span names its group and links to the group commit's own trace, which links back.
    const commit = byName('usage.commit')[0]!;
    expect(attr(commit, 'billing.commit.group_requests')).toBeGreaterThanOrEqual(1);
    const groupLink = commit.links![0]!;
    const group = await until('the group commit span', async () => {
      await t.app.tracing.flush();
      return otlp.spans.find((r) => r.span.spanId === groupLink.spanId)?.span;
    });
    expect(group.name).toBe('usage.group_commit');
    expect(group.traceId).not.toBe(traceId);
    expect(group.links?.some((l) => l.traceId === traceId && l.spanId === operation.spanId)).toBe(true);
  });

  it('traces POST /v1/events as an HTTP route with the usage stages under it', async () => {
    const funded = await fundedCustomer(t, '100');
    const traceId = hex(16);
    const res = await fetch(t.url.replace('/graphql', '/v1/events'), {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${t.adminKey}`, traceparent: `00-${traceId}-${hex(8)}-01` },
      body: JSON.stringify({ specversion: '1.0', type: 'llm_tokens', id: 'ce-1', source: 'test', subject: funded.externalId, data: { tokens: '1000', model: 'gpt-4o', tokenType: 'input' } }),
    });
    expect(((await res.json()) as { acceptedCount: number }).acceptedCount).toBe(1);
    const spans = await until('the spans of /v1/events', async () => {
      await t.app.tracing.flush();
      const mine = otlp.spans.filter((r) => r.span.traceId === traceId).map((r) => r.span);
      return mine.some((s) => s.name === 'usage.publish') && mine;
    });
    const route = spans.find((s) => s.name === 'POST /v1/events')!;
    expect(attr(route, 'http.route')).toBe('/v1/events');
    for (const n of ['usage.prepare', 'usage.rate', 'usage.reserve', 'usage.commit', 'usage.post', 'usage.publish']) expect(spans.find((s) => s.name === n)?.parentSpanId, n).toBe(route.spanId);
  });

  it('sends nothing and starts no SDK when no endpoint is configured; log lines then carry no trace ids', async () => {
    const plainLogs = captureLogs();
    const plain = await startTestApp({ logger: plainLogs.logger });
    try {
      expect(plain.app.config.tracing).toBeNull();
      expect(plain.app.tracing.enabled).toBe(false);
      const before = otlp.posts();
      const traceId = hex(16);
      const res = await fetch(plain.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${plain.adminKey}`, traceparent: `00-${traceId}-${hex(8)}-01`, 'x-request-id': 'plain-1' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(res.status).toBe(200);
      await plain.app.tracing.flush();
      await sleep(100);
      expect(otlp.posts()).toBe(before);
      const line = plainLogs.lines.find((l) => l.requestId === 'plain-1' && l.msg === 'request served');
      expect(line).toBeDefined();
      expect(line!.traceId).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});

describe('request ids', () => {
  it('answers every request with x-request-id: the caller`s when it is a sane token, a new one otherwise', async () => {
    const own = await fetch(t.url.replace('/graphql', '/healthz'), { headers: { 'x-request-id': 'abc-123.4:5_6' } });
    expect(own.headers.get('x-request-id')).toBe('abc-123.4:5_6');
    const none = await fetch(t.url.replace('/graphql', '/healthz'));
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    for (const bad of ['has spaces', 'x'.repeat(65), 'quote"d']) {
      const res = await fetch(t.url.replace('/graphql', '/nowhere'), { headers: { 'x-request-id': bad } });
      expect(res.status).toBe(404);
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('puts the request id on every log line written while serving the request, and the trace id when traced', async () => {
    const traceId = hex(16);
    // A table gone: the resolver fails unexpectedly, and the error formatter (which holds the
    // process logger, not the request) logs it.
    await t.app.sql.query('alter table tax_rate rename to tax_rate_hidden');
    try {
      const { headers, body } = await post('query Rates { taxRates { nodes { code } } }', {}, { 'x-request-id': 'req-logs-1', traceparent: `00-${traceId}-${hex(8)}-01` });
      expect(headers.get('x-request-id')).toBe('req-logs-1');
      expect(body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await t.app.sql.query('alter table tax_rate_hidden rename to tax_rate');
    }
    const mine = logs.lines.filter((l) => l.requestId === 'req-logs-1');
    expect(mine.map((l) => l.msg)).toEqual(expect.arrayContaining(['unexpected error in a GraphQL operation', 'request served']));
    expect(mine.find((l) => l.msg === 'unexpected error in a GraphQL operation')!.traceId).toBe(traceId);
  });
});

describe('metrics', () => {
  it('count usage events by outcome and refusal code, group commits, store scripts, and GraphQL operations by known name', async () => {
    const funded = await fundedCustomer(t, '100');
    const broke = await fundedCustomer(t, '0');
    const before = await scrape();
    await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(funded.customerId, 'm-1') });
    await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(funded.customerId, 'm-1') });
    const refused = await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(broke.customerId, 'm-2') });
    expect(refused.recordUsage.refusal?.code).toBe('WALLET_INSUFFICIENT_FUNDS');
    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(moved('billing_usage_events_total', { outcome: 'accepted' })).toBe(1);
    expect(moved('billing_usage_events_total', { outcome: 'replayed' })).toBe(1);
    expect(moved('billing_usage_events_total', { outcome: 'refused', code: 'WALLET_INSUFFICIENT_FUNDS' })).toBe(1);
    expect(moved('billing_usage_commit_group_events_count')).toBeGreaterThanOrEqual(1);
    expect(moved('billing_usage_commit_group_requests_sum')).toBeGreaterThanOrEqual(1);
    expect(moved('billing_usage_stage_seconds_count', { stage: 'commit' })).toBeGreaterThanOrEqual(1);
    expect(moved('billing_store_script_seconds_count', { script: 'reserve' })).toBeGreaterThanOrEqual(3);
    expect(moved('billing_store_script_seconds_count', { script: 'post' })).toBeGreaterThanOrEqual(1);
    expect(moved('billing_graphql_operations_total', { operation: 'RecordUsage', type: 'mutation', result: 'ok' })).toBe(3);
    expect(moved('billing_graphql_operation_duration_seconds_count', { operation: 'RecordUsage', type: 'mutation' })).toBe(3);
  });

  it('keeps operation names bounded: names beyond the known and first-seen ones count as "other"', async () => {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => post(`query Junk${i}x${hex(4)} { __typename }`, {})));
    expect(results.every((r) => r.body.data?.__typename === 'Query')).toBe(true);
    await post('{ nope }', {});
    const after = await scrape();
    const names = new Set([...after.matchAll(/^billing_graphql_operations_total\{[^}]*operation="([^"]*)"/gm)].map((m) => m[1]));
    expect(names.has('other')).toBe(true);
    expect([...names].filter((n) => n!.startsWith('Junk')).length).toBeLessThanOrEqual(50);
    expect(sample(after, 'billing_graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBeGreaterThanOrEqual(1);
    // An operation that never resolved (it did not validate) has no name or type yet.
    expect(sample(after, 'billing_graphql_operations_total', { operation: 'none', type: 'unknown', result: 'GRAPHQL_VALIDATION_FAILED' })).toBeGreaterThanOrEqual(1);
  });

  it('show open sockets, active subscriptions and the push lag of live updates', async () => {
    const funded = await fundedCustomer(t, '100');
    const client = createClient({ url: t.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${t.adminKey}` }, lazy: true, retryAttempts: 0 });
    const lagBefore = sample(await scrape(), 'billing_live_push_lag_seconds_count', { type: 'balance' });
    try {
      const updates = client.iterate({ query: print(WalletBalanceChangedDocument), variables: { walletId: funded.walletId } });
      expect(((await updates.next()).value as any).data.walletBalanceChanged.cause).toBe('SNAPSHOT');
      const during = await scrape();
      expect(sample(during, 'billing_live_sockets')).toBeGreaterThanOrEqual(1);
      expect(sample(during, 'billing_live_subscriptions')).toBeGreaterThanOrEqual(1);
      await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(funded.customerId, 'live-1') });
      expect(((await updates.next()).value as any).data.walletBalanceChanged.cause).toBe('USAGE');
      expect(sample(await scrape(), 'billing_live_push_lag_seconds_count', { type: 'balance' })).toBe(lagBefore + 1);
      await updates.return?.();
      await until('the subscription to end', async () => sample(await scrape(), 'billing_live_subscriptions') === sample(during, 'billing_live_subscriptions') - 1);
    } finally {
      await client.dispose();
    }
    await until('the socket to close', async () => sample(await scrape(), 'billing_live_sockets') === 0);
  });

  it('show the webhook backlog and attempts by result', async () => {
    const endpoint = (await t.admin.ok(CreateWebhookEndpointDocument, { input: { url: hooks.url, topics: ['ALERT_TRIGGERED'] } })).createWebhookEndpoint.endpoint;
    const insert = (nextAttemptAt: Date) =>
      t.app.sql.query(
        `insert into webhook_delivery (id, endpoint_id, topic, event_id, payload, next_attempt_at, created_at) values (gen_random_uuid(), $1, 'alert.triggered', gen_random_uuid(), '{}'::jsonb, $2, now())`,
        [endpoint.id, nextAttemptAt],
      );
    const before = await scrape();
    await insert(new Date(Date.now() + 3_600_000));
    await insert(new Date());
    await until('the due delivery', () => hooks.received() >= 1);
    // The delivered one leaves the backlog; the one due in an hour stays.
    const after = await until('the attempt to be recorded', async () => {
      const s = await scrape();
      return sample(s, 'billing_webhook_backlog') === sample(before, 'billing_webhook_backlog') + 1 && s;
    });
    expect(sample(after, 'billing_webhook_attempts_total', { result: 'delivered' })).toBe(sample(before, 'billing_webhook_attempts_total', { result: 'delivered' }) + 1);
  });

  it('count invoice closes, their duration, finalized invoices and the events they closed', async () => {
    // A subscription that started 40 days ago, and events an hour before this calendar month (the
    // periods are calendar months): their period has ended, and with no grace it is finalized.
    const funded = await fundedCustomer(t, '100', { startsAt: new Date(Date.now() - 40 * 86_400_000) });
    const monthStart = new Date();
    monthStart.setUTCDate(1);
    monthStart.setUTCHours(0, 0, 0, 0);
    const at = new Date(monthStart.getTime() - 3_600_000).toISOString();
    for (const key of ['inv-1', 'inv-2']) expect((await t.admin.ok(RecordUsageDocument, { input: { ...gpt4oInput(funded.customerId, key), timestamp: at } })).recordUsage.status).toBe('ACCEPTED');
    const before = await scrape();
    const report = (await t.admin.ok(CloseInvoicesDocument, {})).closeInvoices;
    expect(report.finalized.length).toBeGreaterThanOrEqual(1);
    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(moved('billing_invoice_closes_total', { result: 'ok' })).toBe(report.customers);
    expect(moved('billing_invoice_close_seconds_count')).toBe(report.customers);
    expect(moved('billing_invoices_finalized_total')).toBe(report.finalized.length);
    expect(moved('billing_invoice_events_closed_total')).toBe(2);
  });
});
