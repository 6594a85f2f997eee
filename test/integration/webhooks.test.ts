import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqlPool } from '../../src/db/sql.js';
import { Role } from '../../src/modules/api-keys/principal.pure.js';
import { secretFromKey, signatureHeaders } from '../../src/modules/webhooks/webhook-signature.pure.js';
import { WebhookWorker } from '../../src/modules/webhooks/webhook.worker.js';
import { FixedClock, systemClock } from '../../src/shared/clock.js';
import {
  CreateCustomerDocument,
  CreateWebhookEndpointDocument,
  UpdateWebhookEndpointDocument,
  WebhookDeliveriesDocument,
  WebhookDeliveryDocument,
  WebhookEndpointsDocument,
  type WebhookDeliveryStatus,
  type WebhookTopic,
} from '../generated/graphql.js';
import { codesOf, type TestClient } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Fast retries, a short timeout, and endpoints disabled after three failures in a row. The
 * receivers listen on 127.0.0.1, which webhooks reach only with private networks allowed.
 */
const WEBHOOK_ENV = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_POLL_MS: '50',
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_RETRY_MAX_MS: '200',
  WEBHOOK_TIMEOUT_MS: '300',
  WEBHOOK_DISABLE_AFTER: '3',
  WEBHOOK_MAX_ATTEMPTS: '10',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const silent = pino({ level: 'silent' });

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A local HTTP endpoint answering each request with a status, or never ('hang'). */
async function startReceiver(answer: (n: number, req: Received) => number | 'hang' | Promise<number | 'hang'>) {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(received);
      const status = await answer(requests.length, received);
      if (status !== 'hang') res.writeHead(status, { 'content-type': 'text/plain' }).end('thanks');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: WEBHOOK_ENV });
});
afterAll(() => t?.close());

const createEndpoint = async (url: string, topics: WebhookTopic[] = ['ALERT_TRIGGERED'], client: TestClient = t.admin) =>
  (await client.ok(CreateWebhookEndpointDocument, { input: { url, topics, description: 'test receiver' } })).createWebhookEndpoint;

const updateEndpoint = (input: { id: string; url?: string; topics?: WebhookTopic[]; description?: string | null; enabled?: boolean }) =>
  t.admin.request(UpdateWebhookEndpointDocument, { input });

const endpointById = async (id: string) => (await t.admin.ok(WebhookEndpointsDocument)).webhookEndpoints.nodes.find((e) => e.id === id)!;

const deliveries = async (endpointId: string, status?: WebhookDeliveryStatus, first?: number, after?: string) =>
  (await t.admin.ok(WebhookDeliveriesDocument, { endpointId, status, first, after })).webhookDeliveries;

const delivery = async (id: string) => (await t.admin.ok(WebhookDeliveryDocument, { id })).webhookDelivery!;

/** Writes a delivery as alert_evaluate does in the alert's transaction. */
async function enqueue(sql: SqlPool, endpointId: string, opts: { topic?: string; at?: Date } = {}) {
  const eventId = randomUUID();
  const payload = {
    alert: { id: eventId, name: 'Low balance', metric: 'WALLET_BALANCE', direction: 'BELOW', level: 0, threshold: '10', value: '9.5', topUpAmount: null },
  };
  const [row] = await sql.query<{ id: string }>(
    `insert into webhook_delivery (id, endpoint_id, topic, event_id, payload, next_attempt_at, created_at)
     values (gen_random_uuid(), $1, $2, $3, $4, coalesce($5, now()), coalesce($5, now())) returning id`,
    [endpointId, opts.topic ?? 'alert.triggered', eventId, payload, opts.at ?? null],
  );
  return { id: row!.id, eventId, payload };
}

describe('signatures (Standard Webhooks)', () => {
  const key = Buffer.alloc(32, 7);
  const secret = secretFromKey(key);
  const body = JSON.stringify({ id: 'e1', type: 'alert.triggered', timestamp: '2026-12-01T00:00:00.000Z', data: { alert: { value: '9.5' } } });
  const eventId = '0b8a1f2e-0000-4000-8000-000000000001';

  it('signs "<webhook-id>.<webhook-timestamp>.<raw body>" with HMAC-SHA256 of the base64 key after whsec_', () => {
    const at = new Date(1_800_000_000_500);
    const headers = signatureHeaders([secret], eventId, at, body);
    const expected = createHmac('sha256', key).update(`${eventId}.1800000000.${body}`).digest('base64');
    expect(headers).toEqual({ 'webhook-id': eventId, 'webhook-timestamp': '1800000000', 'webhook-signature': `v1,${expected}` });
    expect(secret).toBe(`whsec_${key.toString('base64')}`);
  });

  it('is what the standardwebhooks library verifies, and it refuses a tampered body, a wrong secret or an old timestamp', () => {
    const now = new Date();
    const headers = signatureHeaders([secret], eventId, now, body);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace('9.5', '95'), { ...headers })).toThrow(/No matching signature/);
    expect(() => new Webhook(secretFromKey(randomBytes(32))).verify(body, { ...headers })).toThrow(/No matching signature/);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': randomUUID() })).toThrow(/No matching signature/);
    const old = signatureHeaders([secret], eventId, new Date(now.getTime() - 301_000), body);
    expect(() => new Webhook(secret).verify(body, { ...old })).toThrow(/too old/);
  });

  it('signs with every secret given, so a receiver holding either verifies during a rotation', () => {
    const next = secretFromKey(randomBytes(32));
    const headers = signatureHeaders([next, secret], eventId, new Date(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const s of [next, secret]) expect(new Webhook(s).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });
});

describe('webhook endpoints', () => {
  it('returns the secret once, at creation, and never lists it', async () => {
    const a = await createEndpoint('https://example.com/hooks', ['ALERT_TRIGGERED', 'WALLET_TOP_UP_REQUESTED', 'ALERT_TRIGGERED']);
    const b = await createEndpoint('http://example.com/other');
    expect(a.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.secret.slice(6), 'base64')).toHaveLength(32);
    expect(b.secret).not.toBe(a.secret);
    expect(a.endpoint).toMatchObject({
      url: 'https://example.com/hooks',
      description: 'test receiver',
      topics: ['ALERT_TRIGGERED', 'WALLET_TOP_UP_REQUESTED'],
      enabled: true,
      consecutiveFailures: 0,
      disabledAt: null,
      disabledReason: null,
    });
    const [stored] = await t.app.sql.query<{ secret: string; topics: string[] }>('select secret, topics from webhook_endpoint where id = $1', [a.endpoint.id]);
    expect(stored).toEqual({ secret: a.secret, topics: ['alert.triggered', 'wallet.top_up_requested'] });

    const listed = await t.admin.raw('{ webhookEndpoints { nodes { id url topics } } }');
    expect(JSON.stringify(listed)).not.toContain(a.secret);
    expect(codesOf(await t.admin.raw('{ webhookEndpoints { nodes { id secret } } }'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    await updateEndpoint({ id: a.endpoint.id, enabled: false });
    await updateEndpoint({ id: b.endpoint.id, enabled: false });
  });

  it('refuses bad URLs and empty topics, creating nothing', async () => {
    const before = (await t.admin.ok(WebhookEndpointsDocument)).webhookEndpoints.nodes.length;
    const bad: Array<[string, WebhookTopic[], string]> = [
      ['not a url', ['ALERT_TRIGGERED'], 'url'],
      ['/relative/path', ['ALERT_TRIGGERED'], 'url'],
      ['ftp://example.com/hooks', ['ALERT_TRIGGERED'], 'url'],
      ['https://user:pass@example.com/hooks', ['ALERT_TRIGGERED'], 'url'],
      [`https://example.com/${'a'.repeat(2048)}`, ['ALERT_TRIGGERED'], 'url'],
      ['', ['ALERT_TRIGGERED'], 'url'],
      ['https://example.com/hooks', [], 'topics'],
    ];
    for (const [url, topics, path] of bad) {
      const result = await t.admin.request(CreateWebhookEndpointDocument, { input: { url, topics } });
      expect(codesOf(result), url).toEqual(['VALIDATION_FAILED']);
      expect(result.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path })]);
    }
    const unknownTopic = await t.admin.raw('mutation { createWebhookEndpoint(input: { url: "https://example.com", topics: [USAGE] }) { secret } }');
    expect(codesOf(unknownTopic)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect((await t.admin.ok(WebhookEndpointsDocument)).webhookEndpoints.nodes).toHaveLength(before);
  });

  it('updates an endpoint field by field, validates, and knows missing ones', async () => {
    const { endpoint } = await createEndpoint('https://example.com/a');
    const moved = await updateEndpoint({ id: endpoint.id, url: 'https://example.org/b', topics: ['WALLET_TOP_UP_REQUESTED'], enabled: false });
    expect(moved.data?.updateWebhookEndpoint.endpoint).toMatchObject({
      url: 'https://example.org/b',
      topics: ['WALLET_TOP_UP_REQUESTED'],
      description: 'test receiver',
      enabled: false,
      disabledReason: 'disabled by an administrator',
    });
    expect(moved.data?.updateWebhookEndpoint.endpoint.disabledAt).not.toBeNull();
    const cleared = await updateEndpoint({ id: endpoint.id, description: null });
    expect(cleared.data?.updateWebhookEndpoint.endpoint).toMatchObject({ description: null, url: 'https://example.org/b', enabled: false });

    expect(codesOf(await updateEndpoint({ id: endpoint.id, topics: [] }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await updateEndpoint({ id: endpoint.id, url: 'mailto:ops@example.com' }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await updateEndpoint({ id: randomUUID(), enabled: true }))).toEqual(['NOT_FOUND']);
    expect(codesOf(await updateEndpoint({ id: 'nope', enabled: true }))).toEqual(['NOT_FOUND']);
    expect(codesOf(await t.admin.request(WebhookDeliveriesDocument, { endpointId: randomUUID() }))).toEqual(['NOT_FOUND']);
    expect((await t.admin.ok(WebhookDeliveryDocument, { id: randomUUID() })).webhookDelivery).toBeNull();
  });

  it('is for ADMIN keys only', async () => {
    const { endpoint } = await createEndpoint('https://example.com/admin-only');
    await updateEndpoint({ id: endpoint.id, enabled: false });
    const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId: `wh-${randomUUID()}`, name: 'Webhook customer', currency: 'USD' } })).createCustomer;
    const ingest = await t.app.services.apiKeys.create({ name: 'ingest', role: Role.INGEST });
    const own = await t.app.services.apiKeys.create({ name: 'customer', role: Role.CUSTOMER, customerId: customer.id });
    for (const key of [ingest.secret, own.secret]) {
      const client = t.client(key);
      expect(codesOf(await client.request(CreateWebhookEndpointDocument, { input: { url: 'https://example.com/x', topics: ['ALERT_TRIGGERED'] } }))).toEqual(['FORBIDDEN']);
      expect(codesOf(await client.request(UpdateWebhookEndpointDocument, { input: { id: endpoint.id, enabled: true } }))).toEqual(['FORBIDDEN']);
      expect(codesOf(await client.request(WebhookEndpointsDocument))).toEqual(['FORBIDDEN']);
      expect(codesOf(await client.request(WebhookDeliveriesDocument, { endpointId: endpoint.id }))).toEqual(['FORBIDDEN']);
    }
    expect((await endpointById(endpoint.id)).enabled).toBe(false);
  });

  it('pages deliveries newest first, filtered by status', async () => {
    const { endpoint } = await createEndpoint('https://example.com/paged');
    await updateEndpoint({ id: endpoint.id, enabled: false });
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await enqueue(t.app.sql, endpoint.id, { at: new Date(Date.now() - 60_000 + i * 1_000) }));
    const first = await deliveries(endpoint.id, undefined, 2);
    expect(first.nodes.map((d) => d.id)).toEqual([made[4]!.id, made[3]!.id]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await deliveries(endpoint.id, undefined, 2, first.pageInfo.endCursor!);
    expect(second.nodes.map((d) => d.id)).toEqual([made[2]!.id, made[1]!.id]);
    const last = await deliveries(endpoint.id, undefined, 2, second.pageInfo.endCursor!);
    expect(last.nodes.map((d) => d.id)).toEqual([made[0]!.id]);
    expect(last.pageInfo.hasNextPage).toBe(false);
    expect((await deliveries(endpoint.id, 'PENDING')).nodes).toHaveLength(5);
    expect((await deliveries(endpoint.id, 'DELIVERED')).nodes).toHaveLength(0);
    expect(codesOf(await t.admin.request(WebhookDeliveriesDocument, { endpointId: endpoint.id, after: 'bogus' }))).toEqual(['VALIDATION_FAILED']);
  });
});

describe('delivery', () => {
  it('retries a failing endpoint until it answers 2xx, signing every request', async () => {
    const rx = await startReceiver((n) => (n <= 2 ? 500 : 200));
    const { endpoint, secret } = await createEndpoint(rx.url);
    const d = await enqueue(t.app.sql, endpoint.id);
    await vi.waitFor(async () => expect((await delivery(d.id)).status).toBe('DELIVERED'), { timeout: 10_000, interval: 50 });
    await sleep(300);
    await rx.close();

    expect(rx.requests).toHaveLength(3);
    const [createdAt] = await t.app.sql.query<{ created_at: Date }>('select created_at from webhook_delivery where id = $1', [d.id]);
    const receiver = new Webhook(secret);
    for (const [i, r] of rx.requests.entries()) {
      const headers = r.headers as Record<string, string>;
      expect(receiver.verify(r.body, headers)).toEqual({ id: d.eventId, type: 'alert.triggered', timestamp: createdAt!.created_at.toISOString(), data: d.payload });
      expect(() => receiver.verify(r.body.replace('9.5', '9.6'), headers)).toThrow();
      expect(r.headers).toMatchObject({
        'content-type': 'application/json',
        'webhook-id': d.eventId,
        'billing-delivery-id': d.id,
        'billing-delivery-attempt': String(i + 1),
      });
      expect(r.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
      expect(r.headers['billing-signature']).toBeUndefined();
    }
    // Every attempt is the same body, for the same event id.
    expect(new Set(rx.requests.map((r) => r.body)).size).toBe(1);
    // Retry n waits 50 ms * 2^(n-1).
    expect(rx.requests[1]!.at - rx.requests[0]!.at).toBeGreaterThanOrEqual(40);
    expect(rx.requests[2]!.at - rx.requests[1]!.at).toBeGreaterThanOrEqual(90);

    const [listed] = (await deliveries(endpoint.id)).nodes;
    expect(listed).toMatchObject({ id: d.id, endpointId: endpoint.id, topic: 'ALERT_TRIGGERED', eventId: d.eventId, payload: d.payload, status: 'DELIVERED', attempts: 3, nextAttemptAt: null });
    expect(listed!.deliveredAt).not.toBeNull();
    expect(listed!.attemptLog.map((a) => [a.attempt, a.statusCode, a.error])).toEqual([
      [1, 500, 'the endpoint answered HTTP 500'],
      [2, 500, 'the endpoint answered HTTP 500'],
      [3, 200, null],
    ]);
    expect(listed!.attemptLog.every((a) => a.durationMs >= 0 && a.attemptedAt <= listed!.deliveredAt!)).toBe(true);
    expect(await endpointById(endpoint.id)).toMatchObject({ enabled: true, consecutiveFailures: 0 });
  });

  it('disables an endpoint after WEBHOOK_DISABLE_AFTER failures in a row, stops trying it, and resumes when re-enabled', async () => {
    let status = 503;
    const rx = await startReceiver(() => status);
    const { endpoint } = await createEndpoint(rx.url);
    const d = await enqueue(t.app.sql, endpoint.id);
    await vi.waitFor(async () => expect((await endpointById(endpoint.id)).enabled).toBe(false), { timeout: 10_000, interval: 50 });

    const disabled = await endpointById(endpoint.id);
    expect(disabled).toMatchObject({ consecutiveFailures: 3, disabledReason: '3 delivery attempts failed in a row; the last: the endpoint answered HTTP 503' });
    expect(disabled.disabledAt).not.toBeNull();
    const later = await enqueue(t.app.sql, endpoint.id);
    await sleep(500);
    expect(rx.requests).toHaveLength(3);
    expect(await delivery(d.id)).toMatchObject({ status: 'PENDING', attempts: 3 });
    expect(await delivery(later.id)).toMatchObject({ status: 'PENDING', attempts: 0, attemptLog: [] });

    status = 204;
    const enabled = await updateEndpoint({ id: endpoint.id, enabled: true });
    expect(enabled.data?.updateWebhookEndpoint.endpoint).toMatchObject({ enabled: true, consecutiveFailures: 0, disabledAt: null, disabledReason: null });
    await vi.waitFor(async () => expect((await deliveries(endpoint.id, 'DELIVERED')).nodes).toHaveLength(2), { timeout: 10_000, interval: 50 });
    expect((await delivery(d.id)).attemptLog.map((a) => a.statusCode)).toEqual([503, 503, 503, 204]);
    await rx.close();
  });

  it('counts an endpoint that does not answer within WEBHOOK_TIMEOUT_MS as a failed attempt', async () => {
    const rx = await startReceiver(() => 'hang');
    const { endpoint } = await createEndpoint(rx.url);
    const d = await enqueue(t.app.sql, endpoint.id);
    await vi.waitFor(async () => expect((await delivery(d.id)).attempts).toBeGreaterThanOrEqual(1), { timeout: 10_000, interval: 50 });
    await updateEndpoint({ id: endpoint.id, enabled: false });
    await rx.close();

    const [first] = (await delivery(d.id)).attemptLog;
    // No more than "no response": a timeout and a refusal look the same in the log.
    expect(first).toMatchObject({ attempt: 1, statusCode: null, error: 'no response' });
    expect(first!.durationMs).toBeGreaterThanOrEqual(250);
    expect(first!.durationMs).toBeLessThan(2_000);
  });

  it('records a connection failure without internals', async () => {
    const rx = await startReceiver(() => 200);
    await rx.close();
    const { endpoint } = await createEndpoint(rx.url);
    const d = await enqueue(t.app.sql, endpoint.id);
    await vi.waitFor(async () => expect((await delivery(d.id)).attempts).toBeGreaterThanOrEqual(1), { timeout: 10_000, interval: 50 });
    await updateEndpoint({ id: endpoint.id, enabled: false });
    expect((await delivery(d.id)).attemptLog[0]).toMatchObject({ statusCode: null, error: 'no response' });
  });
});

describe('several instances on one database', () => {
  let second: TestApp;
  beforeAll(async () => {
    second = await startTestApp({ db: t.db, env: WEBHOOK_ENV });
  });
  afterAll(() => second?.close());

  it('never sends one attempt twice', async () => {
    const seen = new Map<string, number>();
    const rx = await startReceiver(async (_n, r) => {
      const key = `${r.headers['billing-delivery-id']}#${r.headers['billing-delivery-attempt']}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      await sleep(10);
      return 200;
    });
    const { endpoint } = await createEndpoint(rx.url);
    // Two more workers on pools of their own, besides the two apps' own workers.
    const pools = [new SqlPool(t.db.url, 4), new SqlPool(t.db.url, 4)];
    const workers = pools.map((p) => new WebhookWorker(p, systemClock, silent, t.app.config.webhooks));
    try {
      await t.app.sql.query(
        `insert into webhook_delivery (id, endpoint_id, topic, event_id, payload, next_attempt_at, created_at)
         select gen_random_uuid(), $1, 'alert.triggered', gen_random_uuid(), jsonb_build_object('alert', jsonb_build_object('n', n::text)), now(), now()
           from generate_series(1, 120) n`,
        [endpoint.id],
      );
      const pending = async () => Number((await t.app.sql.query<{ n: string }>(`select count(*) as n from webhook_delivery where endpoint_id = $1 and status <> 'DELIVERED'`, [endpoint.id]))[0]!.n);
      for (let round = 0; round < 200 && (await pending()) > 0; round++) {
        await Promise.all(workers.flatMap((w) => [w.runOnce(), w.runOnce(), w.runOnce()]));
      }
      expect(await pending()).toBe(0);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
      await rx.close();
    }
    expect(rx.requests).toHaveLength(120);
    expect(seen.size).toBe(120);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    const [log] = await t.app.sql.query<{ attempts: string; deliveries: string; max: number }>(
      `select count(*) as attempts, count(distinct a.delivery_id) as deliveries, max(d.attempts) as max
         from webhook_attempt a join webhook_delivery d on d.id = a.delivery_id where d.endpoint_id = $1`,
      [endpoint.id],
    );
    expect(log).toEqual({ attempts: '120', deliveries: '120', max: 1 });
  });
});

describe('retry limits', () => {
  let idle: TestApp;
  beforeAll(async () => {
    // The app's own worker never runs by itself here: each test drives a worker of its own.
    idle = await startTestApp({ env: { WEBHOOK_POLL_MS: '3600000', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
  });
  afterAll(() => idle?.close());

  function capturingLogger() {
    const lines: Array<{ level: number; msg: string }> = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString('utf8')));
        done();
      },
    });
    return { logger: pino({ level: 'info' }, stream), lines };
  }

  it('backs off exponentially up to the maximum, then fails the delivery after maxAttempts', async () => {
    const rx = await startReceiver(() => 500);
    const { endpoint } = await createEndpoint(rx.url, ['ALERT_TRIGGERED'], idle.admin);
    const clock = new FixedClock(new Date(Date.now() + 60_000));
    const d = await enqueue(idle.app.sql, endpoint.id, { at: clock.now() });
    const { logger, lines } = capturingLogger();
    const config = { pollMs: 1_000, timeoutMs: 1_000, retryBaseMs: 1_000, retryMaxMs: 1_500, maxAttempts: 3, disableAfter: 100, allowPrivateNetworks: true };
    const worker = new WebhookWorker(idle.app.sql, clock, logger, config);
    const dueAt = async () => (await idle.app.sql.query<{ next_attempt_at: Date }>('select next_attempt_at from webhook_delivery where id = $1', [d.id]))[0]!.next_attempt_at;
    const start = clock.now().getTime();

    expect(await worker.runOnce()).toBe(1);
    expect((await dueAt()).getTime() - start).toBe(1_000);
    clock.advance(999);
    expect(await worker.runOnce()).toBe(0);
    clock.advance(1);
    expect(await worker.runOnce()).toBe(1);
    expect((await dueAt()).getTime() - start).toBe(1_000 + 1_500);
    clock.advance(1_500);
    expect(await worker.runOnce()).toBe(1);
    clock.advance(60_000);
    expect(await worker.runOnce()).toBe(0);
    await rx.close();

    expect(rx.requests).toHaveLength(3);
    const failed = (await idle.admin.ok(WebhookDeliveryDocument, { id: d.id })).webhookDelivery!;
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 3, nextAttemptAt: null, deliveredAt: null });
    expect(failed.attemptLog.map((a) => new Date(a.attemptedAt).getTime() - start)).toEqual([0, 1_000, 2_500]);
    expect(lines.find((l) => l.msg === 'webhook delivery failed for good')).toBeDefined();
    await idle.admin.ok(UpdateWebhookEndpointDocument, { input: { id: endpoint.id, enabled: false } });
  });

  it('reports an endpoint it disables', async () => {
    const rx = await startReceiver(() => 500);
    const { endpoint } = await createEndpoint(rx.url, ['ALERT_TRIGGERED'], idle.admin);
    const clock = new FixedClock(new Date(Date.now() + 120_000));
    await enqueue(idle.app.sql, endpoint.id, { at: clock.now() });
    await enqueue(idle.app.sql, endpoint.id, { at: clock.now() });
    const { logger, lines } = capturingLogger();
    const worker = new WebhookWorker(idle.app.sql, clock, logger, { pollMs: 1_000, timeoutMs: 1_000, retryBaseMs: 10, retryMaxMs: 10, maxAttempts: 10, disableAfter: 2, allowPrivateNetworks: true });
    expect(await worker.runOnce()).toBe(2);
    clock.advance(10);
    expect(await worker.runOnce()).toBe(0);
    await rx.close();

    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toEqual([expect.objectContaining({ msg: 'webhook endpoint disabled after 2 failed attempts in a row', endpointId: endpoint.id })]);
    const [row] = await idle.app.sql.query<{ enabled: boolean; disabled_reason: string }>('select enabled, disabled_reason from webhook_endpoint where id = $1', [endpoint.id]);
    expect(row).toEqual({ enabled: false, disabled_reason: '2 delivery attempts failed in a row; the last: the endpoint answered HTTP 500' });
  });

  it('polls on its timer, answers a poke, and stops cleanly', async () => {
    const rx = await startReceiver(() => 200);
    const { endpoint } = await createEndpoint(rx.url, ['WALLET_TOP_UP_REQUESTED'], idle.admin);
    const worker = new WebhookWorker(idle.app.sql, systemClock, silent, { pollMs: 3_600_000, timeoutMs: 1_000, retryBaseMs: 10, retryMaxMs: 10, maxAttempts: 3, disableAfter: 10, allowPrivateNetworks: true });
    worker.start();
    const d = await enqueue(idle.app.sql, endpoint.id, { topic: 'wallet.top_up_requested' });
    await sleep(100);
    expect(rx.requests).toHaveLength(0);
    worker.poke();
    worker.poke();
    await vi.waitFor(() => expect(rx.requests).toHaveLength(1), { timeout: 5_000, interval: 20 });
    expect(JSON.parse(rx.requests[0]!.body)).toMatchObject({ id: d.eventId, type: 'wallet.top_up_requested' });
    await worker.stop();
    await enqueue(idle.app.sql, endpoint.id, { topic: 'wallet.top_up_requested' });
    worker.poke();
    await sleep(100);
    expect(rx.requests).toHaveLength(1);
    await rx.close();
    await idle.admin.ok(UpdateWebhookEndpointDocument, { input: { id: endpoint.id, enabled: false } });
  });
});
