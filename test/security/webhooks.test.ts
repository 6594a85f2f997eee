import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADDRESS_REFUSED, guardedLookup, isAllowedAddress, type ResolvedAddress } from '../../src/modules/webhooks/webhook-address.client.js';
import { postWebhook } from '../../src/modules/webhooks/webhook-request.client.js';
import {
  CreateWebhookEndpointDocument,
  UpdateWebhookEndpointDocument,
  WebhookDeliveryDocument,
  WebhookEndpointsDocument,
} from '../generated/graphql.js';
import { codesOf, type TestClient } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Webhooks must not be a way to scan or reach the network behind the service (server-side
 * request forgery): internal addresses are refused at registration and at connection, and the
 * delivery log tells no more than a status and a duration.
 */

const FAST = { WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_RETRY_MAX_MS: '200', WEBHOOK_TIMEOUT_MS: '500' };

/** Every way of writing an address webhooks may not reach, by default. */
const INTERNAL_URLS = [
  'http://127.0.0.1/hook',
  'http://localhost/hook',
  'http://[::1]/hook',
  'http://10.0.0.1/hook',
  'http://172.16.0.1/hook',
  'http://192.168.1.1/hook',
  'http://169.254.169.254/latest/meta-data/',
  'http://0.0.0.0/hook',
  'http://2130706433/hook',
  'http://0x7f000001/hook',
  'http://0177.0.0.1/hook',
  'http://127.1/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://[::ffff:a00:1]/hook',
  'http://[fd00:ec2::254]/latest/meta-data/',
  'http://[fc00::1]/hook',
  'http://[fe80::1]/hook',
  'http://100.64.0.1/hook',
  'http://[64:ff9b::7f00:1]/hook',
  'http://[::7f00:1]/hook',
  'https://does-not-resolve.invalid/hook',
];

interface Receiver {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1 that answers 200. */
async function startReceiver(): Promise<Receiver> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      requests.push(body);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const create = (client: TestClient, url: string) => client.request(CreateWebhookEndpointDocument, { input: { url, topics: ['ALERT_TRIGGERED'] } });

/** Writes a delivery as alert_evaluate does in the alert's transaction. */
async function enqueue(t: TestApp, endpointId: string): Promise<string> {
  const [row] = await t.app.sql.query<{ id: string }>(
    `insert into webhook_delivery (id, endpoint_id, topic, event_id, payload, next_attempt_at, created_at)
     values (gen_random_uuid(), $1, 'alert.triggered', $2, $3, now(), now()) returning id`,
    [endpointId, randomUUID(), { alert: { id: 'a1', value: '9.5' } }],
  );
  return row!.id;
}

/** An endpoint written straight into the database, as if registered before the checks or re-pointed since. */
async function storeEndpoint(t: TestApp, url: string): Promise<string> {
  const [row] = await t.app.sql.query<{ id: string }>(
    `insert into webhook_endpoint (id, url, secret, topics, created_at, updated_at) values (gen_random_uuid(), $1, 'whsec_test', $2, now(), now()) returning id`,
    [url, ['alert.triggered']],
  );
  return row!.id;
}

const disable = (t: TestApp, id: string) => t.admin.ok(UpdateWebhookEndpointDocument, { input: { id, enabled: false } });

describe('with private networks not allowed (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: FAST });
  });
  afterAll(() => t?.close());

  it('refuses every form of an internal address and non-http schemes at registration, and accepts a public address', async () => {
    const before = (await t.admin.ok(WebhookEndpointsDocument)).webhookEndpoints.nodes.length;
    for (const url of [...INTERNAL_URLS, 'ftp://93.184.216.34/hook']) {
      const result = await create(t.admin, url);
      expect(codesOf(result), url).toEqual(['VALIDATION_FAILED']);
      expect(result.errors![0]!.extensions!.fields, url).toEqual([{ path: 'url', message: expect.stringMatching(/http|public/) }]);
    }
    expect((await t.admin.ok(WebhookEndpointsDocument)).webhookEndpoints.nodes).toHaveLength(before);

    // A public literal needs neither DNS nor a connection to be accepted.
    const accepted = await create(t.admin, 'https://93.184.216.34/hook');
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data!.createWebhookEndpoint.endpoint.url).toBe('https://93.184.216.34/hook');
    await disable(t, accepted.data!.createWebhookEndpoint.endpoint.id);
  });

  it('says clearly why an internal address is refused', async () => {
    const literal = await create(t.admin, 'http://169.254.169.254/latest/meta-data/');
    expect(literal.errors![0]!.extensions!.fields).toEqual([{ path: 'url', message: expect.stringContaining('non-public address') }]);
    expect(literal.errors![0]!.extensions!.fields).toEqual([{ path: 'url', message: expect.stringContaining('WEBHOOK_ALLOW_PRIVATE_NETWORKS') }]);
    // A name that does not resolve and one that resolves inward get the same answer: the API
    // cannot be used to probe the internal DNS.
    const [missing, inward] = [await create(t.admin, 'https://does-not-resolve.invalid/hook'), await create(t.admin, 'https://localhost/hook')];
    const messageOf = (r: typeof missing) => (r.errors![0]!.extensions!.fields as Array<{ message: string }>)[0]!.message;
    expect(messageOf(missing).replace('does-not-resolve.invalid', 'HOST')).toBe(messageOf(inward).replace('localhost', 'HOST'));
  });

  it('refuses moving an endpoint to an internal address', async () => {
    const { endpoint } = (await t.admin.ok(CreateWebhookEndpointDocument, { input: { url: 'https://93.184.216.34/moving', topics: ['ALERT_TRIGGERED'] } })).createWebhookEndpoint;
    for (const url of ['http://127.0.0.1:22/', 'http://0x7f000001/hook', 'http://[::ffff:127.0.0.1]/', 'http://metadata.invalid/']) {
      const result = await t.admin.request(UpdateWebhookEndpointDocument, { input: { id: endpoint.id, url } });
      expect(codesOf(result), url).toEqual(['VALIDATION_FAILED']);
      expect(result.errors![0]!.extensions!.fields, url).toEqual([expect.objectContaining({ path: 'url' })]);
    }
    const [stored] = (await t.admin.ok(WebhookEndpointsDocument)).webhookEndpoints.nodes.filter((e) => e.id === endpoint.id);
    expect(stored!.url).toBe('https://93.184.216.34/moving');
    await disable(t, endpoint.id);
  });

  it('refuses at connection time an endpoint that points inward anyway, as a failed attempt', async () => {
    const rx = await startReceiver();
    const endpointId = await storeEndpoint(t, rx.url);
    const deliveryId = await enqueue(t, endpointId);
    await vi.waitFor(async () => expect((await t.admin.ok(WebhookDeliveryDocument, { id: deliveryId })).webhookDelivery!.attempts).toBeGreaterThanOrEqual(1), {
      timeout: 10_000,
      interval: 50,
    });
    await disable(t, endpointId);
    await rx.close();
    expect(rx.requests).toHaveLength(0);
    const d = (await t.admin.ok(WebhookDeliveryDocument, { id: deliveryId })).webhookDelivery!;
    expect(d.status).toBe('PENDING');
    expect(d.attemptLog[0]).toMatchObject({ attempt: 1, statusCode: null, error: 'no response' });
  });
});

describe('with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true', () => {
  let t: TestApp;
  let strict: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...FAST, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    strict = await startTestApp({ db: t.db, env: { ...FAST, WEBHOOK_POLL_MS: '3600000' } });
  });
  afterAll(async () => {
    await strict?.close();
    await t?.close();
  });

  it('accepts a receiver on 127.0.0.1, which the default refuses, and delivers to it', async () => {
    const rx = await startReceiver();
    expect(codesOf(await create(strict.admin, rx.url))).toEqual(['VALIDATION_FAILED']);
    const created = await create(t.admin, rx.url);
    expect(created.errors).toBeUndefined();
    const endpointId = created.data!.createWebhookEndpoint.endpoint.id;
    const deliveryId = await enqueue(t, endpointId);
    await vi.waitFor(async () => expect((await t.admin.ok(WebhookDeliveryDocument, { id: deliveryId })).webhookDelivery!.status).toBe('DELIVERED'), {
      timeout: 10_000,
      interval: 50,
    });
    await disable(t, endpointId);
    await rx.close();
    expect(rx.requests).toHaveLength(1);
    expect(JSON.parse(rx.requests[0]!)).toMatchObject({ type: 'alert.triggered', data: { alert: { value: '9.5' } } });
  });

  it('still refuses link-local and cloud metadata addresses', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/latest/meta-data/', 'http://[fe80::1]/']) {
      expect(codesOf(await create(t.admin, url)), url).toEqual(['VALIDATION_FAILED']);
    }
  });

  it('logs only the status and the duration of an attempt that got no answer', async () => {
    const rx = await startReceiver();
    await rx.close();
    const { endpoint } = (await t.admin.ok(CreateWebhookEndpointDocument, { input: { url: rx.url, topics: ['ALERT_TRIGGERED'] } })).createWebhookEndpoint;
    const deliveryId = await enqueue(t, endpoint.id);
    await vi.waitFor(async () => expect((await t.admin.ok(WebhookDeliveryDocument, { id: deliveryId })).webhookDelivery!.attempts).toBeGreaterThanOrEqual(1), {
      timeout: 10_000,
      interval: 50,
    });
    await disable(t, endpoint.id);

    const d = (await t.admin.ok(WebhookDeliveryDocument, { id: deliveryId })).webhookDelivery!;
    for (const a of d.attemptLog) {
      expect(a).toEqual({ attempt: a.attempt, attemptedAt: a.attemptedAt, statusCode: null, error: 'no response', durationMs: expect.any(Number) });
    }
    const shown = JSON.stringify(d.attemptLog);
    expect(shown).not.toMatch(/ECONN|ENOTFOUND|refused|connect|127\.0\.0\.1|timeout/i);
    const stored = await t.app.sql.query<{ status_code: number | null; error: string | null }>('select status_code, error from webhook_attempt where delivery_id = $1', [deliveryId]);
    expect(stored.length).toBeGreaterThanOrEqual(1);
    expect(stored.every((r) => r.status_code === null && r.error === 'no response')).toBe(true);
  });
});

describe('the connection-time check', () => {
  const resolveTo =
    (...addresses: string[]) =>
    async (): Promise<ResolvedAddress[]> =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  const lookup = (allowPrivate: boolean, resolve: () => Promise<ResolvedAddress[]>, options: { all?: boolean; family?: number } = {}) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((done) =>
      guardedLookup(allowPrivate, resolve)('rebound.example', options, (err, address) => done({ err, address })),
    );

  it('refuses a name that resolves to 127.0.0.1 unless private networks are allowed', async () => {
    for (const all of [false, true]) {
      const refused = await lookup(false, resolveTo('127.0.0.1'), { all });
      expect(refused.err?.code).toBe(ADDRESS_REFUSED);
    }
    expect((await lookup(true, resolveTo('127.0.0.1'))).address).toBe('127.0.0.1');
    expect((await lookup(true, resolveTo('127.0.0.1'), { all: true })).address).toEqual([{ address: '127.0.0.1', family: 4 }]);
  });

  it('refuses a name when any of its addresses is internal, and hands over exactly the addresses it checked', async () => {
    expect((await lookup(false, resolveTo('93.184.216.34', '10.0.0.5'), { all: true })).err?.code).toBe(ADDRESS_REFUSED);
    expect((await lookup(false, resolveTo('::ffff:169.254.169.254'))).err?.code).toBe(ADDRESS_REFUSED);
    expect((await lookup(true, resolveTo('169.254.169.254'))).err?.code).toBe(ADDRESS_REFUSED);
    expect((await lookup(false, resolveTo('93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'), { all: true })).address).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ]);
    expect((await lookup(false, resolveTo('93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'), { family: 6 })).address).toBe('2606:2800:220:1:248:1893:25c8:1946');
  });

  it('judges addresses by range, not by spelling', () => {
    for (const address of ['127.0.0.1', '::1', '10.1.2.3', '172.31.255.255', '192.168.0.1', '169.254.169.254', '0.0.0.0', '::', '100.64.0.1', 'fc00::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:7f00:1', '224.0.0.1', '255.255.255.255', '192.0.2.1', '::7f00:1', '64:ff9b::a00:1', 'not an address']) {
      expect(isAllowedAddress(address, false), address).toBe(false);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111']) expect(isAllowedAddress(address, false), address).toBe(true);
    for (const address of ['127.0.0.1', '::1', '10.1.2.3', '192.168.0.1', 'fc00::1', '100.64.0.1', '::ffff:10.0.0.1']) expect(isAllowedAddress(address, true), address).toBe(true);
    for (const address of ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', 'fe80::1', '0.0.0.0']) expect(isAllowedAddress(address, true), address).toBe(false);
  });

  it('connects to the checked address, and not at all to a refused one', async () => {
    const rx = await startReceiver();
    const port = new URL(rx.url).port;
    // The name exists nowhere: only the injected resolver knows it, so a request that arrives
    // went to the address the check returned.
    const url = `http://rebound.invalid:${port}/hook`;
    const opts = { timeoutMs: 2_000, resolve: resolveTo('127.0.0.1') };
    try {
      expect(await postWebhook(url, {}, '{}', { ...opts, allowPrivateNetworks: false })).toEqual({ statusCode: null, failure: ADDRESS_REFUSED });
      expect(await postWebhook(rx.url, {}, '{}', { ...opts, allowPrivateNetworks: false })).toEqual({ statusCode: null, failure: ADDRESS_REFUSED });
      expect(rx.requests).toHaveLength(0);
      expect(await postWebhook(url, {}, '{"ok":true}', { ...opts, allowPrivateNetworks: true })).toEqual({ statusCode: 200, failure: null });
      expect(rx.requests).toEqual(['{"ok":true}']);
    } finally {
      await rx.close();
    }
  });
});
