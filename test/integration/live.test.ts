import { print } from 'graphql';
import { Webhook } from 'standardwebhooks';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AlertTriggeredDocument,
  AlertsDocument,
  AuthorizeUsageDocument,
  CreateApiKeyDocument,
  CreateAlertDefinitionDocument,
  RecordUsageDocument,
  ReleaseReservationDocument,
  TopUpWalletDocument,
  UsageRecordedDocument,
  WalletBalanceChangedDocument,
} from '../generated/graphql.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { sleep, until, Watch, webhookReceiver, WsClients } from '../support/live-watch.js';
import { freePort, startServerProcess, type ServerProcess } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue } from '../support/usage-fixtures.js';

const ws = new WsClients();
const wsClient = (url: string, key: string) => ws.open(url, key);

// The webhook receivers listen on 127.0.0.1: a private network, allowed only when asked.
const appEnv = { WS_INIT_TIMEOUT_MS: '300', WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
let t: TestApp;
/** The same service on the run's Redis Cluster (sharded pub/sub), started by the first describe that runs on it. */
let onCluster: Promise<TestApp> | undefined;
beforeAll(async () => {
  t = await startTestApp({ env: appEnv });
  await setupCatalogue(t);
});
afterAll(async () => {
  await ws.close();
  await t.close();
  await (await onCluster?.catch(() => undefined))?.close();
});

/** The app a describe runs on: the file's, on one Redis, or the one on the cluster. */
function appOn(store: 'redis' | 'cluster'): Promise<TestApp> {
  if (store === 'redis') return Promise.resolve(t);
  onCluster ??= startTestApp({ store: 'cluster', env: appEnv }).then(async (app) => (await setupCatalogue(app), app));
  return onCluster;
}

describe.each(['redis', 'cluster'] as const)('live balance changes (%s)', (store) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await appOn(store);
  });

  it('starts with the current state, then pushes every change with its cause and an unbroken sequence', async () => {
    const c = await fundedCustomer(t, '10');
    const watch = new Watch(wsClient(t.wsUrl, t.adminKey), WalletBalanceChangedDocument, { walletId: c.walletId }, 'walletBalanceChanged');
    const first = await watch.next();
    expect(first).toMatchObject({ walletId: c.walletId, customerId: c.customerId, currency: 'USD', balance: '10', available: '10', held: '0', change: '0', cause: 'SNAPSHOT' });
    expect(first.previousSequence).toBe(first.sequence);

    const used = await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'live-1') });
    expect(used.recordUsage.status).toBe('ACCEPTED');
    const usage = await watch.next();
    expect(usage).toMatchObject({ cause: 'USAGE', balance: '9.75', available: '9.75', held: '0', change: '-0.25', previousSequence: first.sequence });

    await t.admin.ok(TopUpWalletDocument, { input: { walletId: c.walletId!, amount: '5', idempotencyKey: 'live-top-up' } });
    const topUp = await watch.next();
    expect(topUp).toMatchObject({ cause: 'TOP_UP', balance: '14.75', available: '14.75', change: '5', previousSequence: usage.sequence });

    const held = await t.admin.ok(AuthorizeUsageDocument, { input: { customerId: c.customerId, meterCode: 'llm_tokens', estimatedAmount: '4', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: 'live-auth' } });
    const hold = await watch.next();
    expect(hold).toMatchObject({ cause: 'HOLD', balance: '14.75', available: '10.75', held: '4', change: '0', sequence: topUp.sequence, previousSequence: topUp.sequence });

    await t.admin.ok(ReleaseReservationDocument, { input: { reservationId: held.authorizeUsage.reservation!.id } });
    expect(await watch.next()).toMatchObject({ cause: 'RELEASE', balance: '14.75', available: '14.75', held: '0' });
    watch.close();
  });

  it('pushes each usage event with the period spend so far, optionally for one meter', async () => {
    const c = await fundedCustomer(t, '10');
    const all = new Watch(wsClient(t.wsUrl, t.adminKey), UsageRecordedDocument, { customerId: c.customerId }, 'usageRecorded');
    const other = new Watch(wsClient(t.wsUrl, t.adminKey), UsageRecordedDocument, { customerId: c.customerId, meterCode: 'images' }, 'usageRecorded');
    await sleep(200);
    await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'u-1') });
    await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'u-2') });
    const one = await all.next();
    const two = await all.next();
    expect(one).toMatchObject({ customerId: c.customerId, event: { meterCode: 'llm_tokens', quantity: '100000', amount: '0.25', charged: '0.25', currency: 'USD', walletId: c.walletId }, periodSpend: '0.25' });
    expect(two).toMatchObject({ periodSpend: '0.5' });
    await sleep(200);
    expect(other.received).toEqual([]);
    all.close();
    other.close();
  });
});

describe('who may watch what', () => {
  it('keeps a customer-scoped subscriber to its own customer, whatever it asks for', async () => {
    const mine = await fundedCustomer(t, '10');
    const theirs = await fundedCustomer(t, '10');
    const key = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'frontend', role: 'CUSTOMER', customerId: mine.customerId } })).createApiKey.secret;
    const client = wsClient(t.wsUrl, key);

    for (const [doc, vars, field] of [
      [WalletBalanceChangedDocument, { walletId: theirs.walletId }, 'walletBalanceChanged'],
      [WalletBalanceChangedDocument, { customerId: theirs.customerId }, 'walletBalanceChanged'],
      [UsageRecordedDocument, { customerId: theirs.customerId }, 'usageRecorded'],
      [AlertTriggeredDocument, { customerId: theirs.customerId }, 'alertTriggered'],
    ] as const) {
      const refused = new Watch(client, doc, vars, field);
      await expect(refused.next(2_000)).rejects.toThrow(/FORBIDDEN/);
    }

    const balances = new Watch(client, WalletBalanceChangedDocument, { customerId: mine.customerId }, 'walletBalanceChanged');
    const usage = new Watch(client, UsageRecordedDocument, { customerId: mine.customerId }, 'usageRecorded');
    const alerts = new Watch(client, AlertTriggeredDocument, {}, 'alertTriggered');
    expect((await balances.next()).cause).toBe('SNAPSHOT');
    for (const who of [mine, theirs]) {
      await t.admin.ok(CreateAlertDefinitionDocument, { input: { metric: 'WALLET_BALANCE', walletId: who.walletId, threshold: '9.9' } });
    }
    await Promise.all([mine, theirs].flatMap((who, w) => Array.from({ length: 5 }, (_, i) => t.admin.ok(RecordUsageDocument, { input: gpt4oInput(who.customerId, `scope-${w}-${i}`) }))));
    await sleep(500);
    expect(usage.received).toHaveLength(5);
    expect(usage.received.every((u) => u.customerId === mine.customerId)).toBe(true);
    expect(balances.received.length).toBeGreaterThan(1);
    expect(balances.received.every((b) => b.customerId === mine.customerId)).toBe(true);
    expect(alerts.received).toHaveLength(1);
    expect(alerts.received[0]).toMatchObject({ customerId: mine.customerId, walletId: mine.walletId });
    balances.close();
    usage.close();
    alerts.close();
  });
});

describe.each(['redis', 'cluster'] as const)('alerts (%s)', (store) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await appOn(store);
  });

  it('fires once for 100 concurrent events that cross a threshold together: one row, one push, one webhook', async () => {
    const c = await fundedCustomer(t, '100');
    const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
    const receiver = await webhookReceiver(received);
    const endpoint = await registerEndpoint(t, receiver.url);
    const watch = new Watch(wsClient(t.wsUrl, t.adminKey), AlertTriggeredDocument, { customerId: c.customerId }, 'alertTriggered');
    const { createAlertDefinition } = await t.admin.ok(CreateAlertDefinitionDocument, { input: { name: 'low balance', metric: 'WALLET_BALANCE', walletId: c.walletId, threshold: '80' } });
    expect(createAlertDefinition.fired).toEqual([]);
    expect(createAlertDefinition.definition).toMatchObject({ direction: 'BELOW', state: { level: -1 } });

    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `cross-${i}`) })));
    expect(replies.every((r) => r.recordUsage.status === 'ACCEPTED')).toBe(true);

    const pushed = await watch.next();
    expect(pushed).toMatchObject({ definitionId: createAlertDefinition.definition.id, metric: 'WALLET_BALANCE', direction: 'BELOW', threshold: '80', level: 0 });
    expect(Number(pushed.value)).toBeLessThan(80);
    const stored = await t.admin.ok(AlertsDocument, { customerId: c.customerId });
    expect(stored.alerts.nodes).toHaveLength(1);
    const rows = await t.app.sql.query<{ n: number }>('select count(*)::int as n from webhook_delivery where event_id = $1', [pushed.id]);
    expect(rows[0]!.n).toBe(1);
    await until(() => received.length >= 1);
    await sleep(300);
    expect(watch.received).toHaveLength(1);
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!.body)).toMatchObject({ id: pushed.id, type: 'alert.triggered', data: { alert: { id: pushed.id, threshold: '80' } } });
    // Standard Webhooks: the alert's id as webhook-id, and a v1 signature the library verifies.
    expect(received[0]!.headers).toMatchObject({ 'webhook-id': pushed.id, 'webhook-timestamp': expect.stringMatching(/^\d+$/), 'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/]{43}=$/) });
    expect(new Webhook(ENDPOINT_SECRET).verify(received[0]!.body, received[0]!.headers as Record<string, string>)).toMatchObject({ id: pushed.id });
    expect(endpoint.id).toBeTruthy();
    watch.close();
    await receiver.close();
  });

  it('fires a recurring threshold at each step, and re-arms when the value goes back across', async () => {
    const c = await fundedCustomer(t, '10');
    await t.admin.ok(CreateAlertDefinitionDocument, { input: { metric: 'PERIOD_SPEND', customerId: c.customerId, threshold: '0.5', every: '0.5' } });
    const low = (await t.admin.ok(CreateAlertDefinitionDocument, { input: { metric: 'WALLET_BALANCE', walletId: c.walletId, threshold: '9' } })).createAlertDefinition.definition;
    for (let i = 0; i < 7; i++) await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `step-${i}`) });
    // Spend 1.75: steps at 0.5, 1.0 and 1.5. Balance 8.25: below 9 once.
    let alerts = (await t.admin.ok(AlertsDocument, { customerId: c.customerId })).alerts.nodes;
    const spend = alerts.filter((a) => a.metric === 'PERIOD_SPEND').reverse();
    expect(spend.map((a) => [a.level, a.threshold])).toEqual([
      [0, '0.5'],
      [1, '1'],
      [2, '1.5'],
    ]);
    expect(alerts.filter((a) => a.definitionId === low.id)).toHaveLength(1);

    await t.admin.ok(TopUpWalletDocument, { input: { walletId: c.walletId!, amount: '2', idempotencyKey: `rearm-${c.customerId}` } });
    // Balance 10.25 is back above 9 (re-armed); six more events take it to 8.75 and spend to 3.25.
    for (let i = 0; i < 6; i++) await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `again-${i}`) });
    alerts = (await t.admin.ok(AlertsDocument, { customerId: c.customerId })).alerts.nodes;
    expect(alerts.filter((a) => a.definitionId === low.id)).toHaveLength(2);
    expect(alerts.filter((a) => a.metric === 'PERIOD_SPEND').map((a) => a.level)).toEqual([5, 4, 3, 2, 1, 0]);
  });

  it('requests an auto top-up once per crossing, as an alert and a webhook', async () => {
    const c = await fundedCustomer(t, '6');
    const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
    const receiver = await webhookReceiver(received);
    await registerEndpoint(t, receiver.url, ['wallet.top_up_requested']);
    await t.admin.ok(CreateAlertDefinitionDocument, { input: { name: 'auto top-up', metric: 'WALLET_AVAILABLE', walletId: c.walletId, threshold: '5', topUpTarget: '20' } });
    for (let i = 0; i < 6; i++) await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `auto-${i}`) });
    const alerts = (await t.admin.ok(AlertsDocument, { customerId: c.customerId })).alerts.nodes;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ metric: 'WALLET_AVAILABLE', value: '4.75', topUpAmount: '15.25' });
    await until(() => received.some((r) => JSON.parse(r.body).id === alerts[0]!.id));
    const body = JSON.parse(received.find((r) => JSON.parse(r.body).id === alerts[0]!.id)!.body);
    expect(body).toMatchObject({ type: 'wallet.top_up_requested', data: { alert: { topUpAmount: '15.25' } } });
    await receiver.close();
  });

  it('copies the defaults for new wallets onto each new wallet', async () => {
    const created = await t.admin.ok(CreateAlertDefinitionDocument, { input: { metric: 'WALLET_BALANCE', threshold: '1', currency: 'USD', defaultForNewWallets: true } });
    expect(created.createAlertDefinition.definition).toMatchObject({ customerId: null, walletId: null, defaultForNewWallets: true });
    const c = await fundedCustomer(t, '0.5');
    const alerts = (await t.admin.ok(AlertsDocument, { customerId: c.customerId })).alerts.nodes;
    expect(alerts).toHaveLength(1);
    // The new wallet is empty, so below 1 at once; the top-up to 0.5 keeps it below: one alert.
    expect(alerts[0]).toMatchObject({ walletId: c.walletId, threshold: '1', value: '0' });
    await t.app.sql.query('update alert_definition set deleted_at = now() where customer_id is null');
  });

  it('refuses bad definitions with the field at fault, and records nothing', async () => {
    const c = await fundedCustomer(t, '1');
    const before = await t.app.sql.query<{ n: number }>('select count(*)::int as n from alert_definition');
    const bad = [
      { metric: 'WALLET_BALANCE', customerId: c.customerId, threshold: '1' },
      { metric: 'SPENDING_CAP_USED', customerId: c.customerId, threshold: '0' },
      { metric: 'METER_USAGE', customerId: c.customerId, threshold: '10' },
      { metric: 'ALLOWANCE_USED', customerId: c.customerId, meterCode: 'llm_tokens', threshold: '80' },
      { metric: 'PERIOD_SPEND', customerId: c.customerId, threshold: '1', topUpAmount: '5' },
      { metric: 'WALLET_AVAILABLE', walletId: c.walletId, threshold: '5', topUpAmount: '5', topUpTarget: '9' },
      { metric: 'PERIOD_SPEND', customerId: c.customerId, threshold: '1', every: '-1' },
      { metric: 'PERIOD_SPEND', customerId: c.customerId, threshold: '0.0000000001' },
    ];
    for (const input of bad) {
      const r = await t.admin.request(CreateAlertDefinitionDocument, { input: input as never });
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe('VALIDATION_FAILED');
    }
    const missing = await t.admin.request(CreateAlertDefinitionDocument, { input: { metric: 'METER_USAGE', customerId: c.customerId, meterCode: 'nope', threshold: '1' } });
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const after = await t.app.sql.query<{ n: number }>('select count(*)::int as n from alert_definition');
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

describe('graphql-ws protocol', () => {
  /** A raw socket speaking graphql-transport-ws; resolves with the close code. */
  function raw(script: (send: (m: object) => void) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
      socket.on('open', () => script((m) => socket.send(JSON.stringify(m))));
      socket.on('close', (code) => resolve(code));
      socket.on('error', reject);
    });
  }
  const init = { type: 'connection_init', payload: { authorization: `Bearer ${'KEY'}` } };
  const withKey = () => ({ ...init, payload: { authorization: `Bearer ${t.adminKey}` } });
  const subscribe = (id: string) => ({ id, type: 'subscribe', payload: { query: 'subscription($c: ID!) { usageRecorded(customerId: $c) { customerId } }', variables: { c: '00000000-0000-7000-8000-000000000000' } } });

  it('closes with 4408 when connection_init does not come in time', async () => {
    expect(await raw(() => undefined)).toBe(4408);
  });

  it('closes with 4429 on a second connection_init', async () => {
    expect(await raw((send) => (send(withKey()), setTimeout(() => send(withKey()), 100)))).toBe(4429);
  });

  it('closes with 4401 on subscribe before the connection is acknowledged', async () => {
    expect(await raw((send) => send(subscribe('a')))).toBe(4401);
  });

  it('closes with 4409 on a second subscribe with an id in use', async () => {
    const c = await fundedCustomer(t, '1');
    const sub = (id: string) => ({ ...subscribe(id), payload: { ...subscribe(id).payload, variables: { c: c.customerId } } });
    expect(await raw((send) => (send(withKey()), setTimeout(() => (send(sub('same')), send(sub('same'))), 200)))).toBe(4409);
  });
});

describe.each(['redis', 'cluster'] as const)('across server instances (%s)', (store) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await appOn(store);
  });

  it('pushes a balance change recorded on one process to a subscriber on another', { timeout: 60_000 }, async () => {
    const c = await fundedCustomer(t, '10');
    const redis: Record<string, string> = store === 'redis' ? { REDIS_URL: TEST_REDIS_URL } : { REDIS_CLUSTER_NODES: inject('redisClusterNodes') };
    const env = { DATABASE_URL: t.db.url, ...redis, REDIS_PREFIX: t.redisPrefix, LOG_LEVEL: 'warn', MIGRATE_ON_START: 'false' };
    const ports = [await freePort(), await freePort()];
    const servers: ServerProcess[] = ports.map((port) => startServerProcess({ ...env, PORT: String(port) }));
    try {
      for (const port of ports) await until(async () => !!(await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok, 30_000);
      const watch = new Watch(wsClient(`ws://127.0.0.1:${ports[0]}/graphql`, t.adminKey), WalletBalanceChangedDocument, { walletId: c.walletId }, 'walletBalanceChanged');
      expect((await watch.next(10_000)).cause).toBe('SNAPSHOT');
      const r = await fetch(`http://127.0.0.1:${ports[1]}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
        body: JSON.stringify({ query: print(RecordUsageDocument), variables: { input: gpt4oInput(c.customerId, 'cross-process') } }),
      });
      expect(((await r.json()) as { data: { recordUsage: { status: string } } }).data.recordUsage.status).toBe('ACCEPTED');
      expect(await watch.next(10_000)).toMatchObject({ cause: 'USAGE', balance: '9.75', walletId: c.walletId });
      watch.close();
    } finally {
      for (const s of servers) s.child.kill('SIGTERM');
      await Promise.all(servers.map((s) => s.exited));
    }
  });
});

const ENDPOINT_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

/** Registers a webhook endpoint straight in the database (the GraphQL side is tested in webhooks.test.ts). */
async function registerEndpoint(t: TestApp, url: string, topics = ['alert.triggered']) {
  const [row] = await t.app.sql.query<{ id: string }>(
    `insert into webhook_endpoint (id, url, secret, topics, created_at, updated_at) values (gen_random_uuid(), $1, $3, $2, now(), now()) returning id`,
    [url, topics, ENDPOINT_SECRET],
  );
  return row!;
}
