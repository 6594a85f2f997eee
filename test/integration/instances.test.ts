import { Decimal } from 'decimal.js';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AlertsDocument,
  AlertTriggeredDocument,
  CreateAlertDefinitionDocument,
  CreateWebhookEndpointDocument,
  RecordUsageDocument,
  WalletBalanceChangedDocument,
} from '../generated/graphql.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { until, Watch, webhookReceiver, WsClients, type ReceivedHook } from '../support/live-watch.js';
import { freePort, startServerProcess, type ServerProcess } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, ledgerState, setupCatalogue } from '../support/usage-fixtures.js';

/**
 * Several API instances on one PostgreSQL and one Redis (a single server, or the Redis Cluster
 * the test run starts): three `billing serve` processes share
 * the work of one wallet. Whatever instance a call reaches, the wallet's money is one budget, a
 * change is pushed to subscribers on every instance, and a threshold crossed by events accepted
 * on different instances fires once.
 */
const INSTANCES = 3;
const CALLS = 300;
const FUNDS = '25'; // each event costs 0.25: exactly 100 fit

const settings = { WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', MIGRATE_ON_START: 'false' };

/** A deployment: the test app and three server processes, on one Redis or on the Redis Cluster. */
interface Deployment {
  t: TestApp;
  servers: ServerProcess[];
  origins: string[];
}

// Small pools: the suite runs other files' servers beside these four on one PostgreSQL.
const pools = { DATABASE_POOL_SIZE: '4', DATABASE_READ_POOL_SIZE: '2', GROUP_COMMIT_LANES: '1' };

async function deploy(store: 'redis' | 'cluster'): Promise<Deployment> {
  const t = await startTestApp({ store, env: settings });
  await setupCatalogue(t);
  const redis: Record<string, string> = store === 'cluster' ? { REDIS_CLUSTER_NODES: inject('redisClusterNodes') } : { REDIS_URL: TEST_REDIS_URL };
  const env = { ...settings, ...pools, ...redis, DATABASE_URL: t.db.url, REDIS_PREFIX: t.redisPrefix, LOG_LEVEL: 'warn' };
  const ports = await Promise.all(Array.from({ length: INSTANCES }, () => freePort()));
  const servers = ports.map((port) => startServerProcess({ ...env, PORT: String(port) }));
  const origins = ports.map((port) => `127.0.0.1:${port}`);
  for (const origin of origins) await until(async () => !!(await fetch(`http://${origin}/readyz`).catch(() => undefined))?.ok, 60_000);
  return { t, servers, origins };
}

async function undeploy(d: Deployment | undefined): Promise<void> {
  if (!d) return;
  for (const s of d.servers) s.child.kill('SIGTERM');
  await Promise.all(d.servers.map((s) => s.exited));
  await d.t.close();
}

const ws = new WsClients();

/** recordUsage on one instance, over plain HTTP. */
async function record(t: TestApp, origin: string, input: ReturnType<typeof gpt4oInput>): Promise<{ accepted: boolean; code?: string }> {
  const res = await fetch(`http://${origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
    body: JSON.stringify({ query: print(RecordUsageDocument), variables: { input } }),
  });
  const body = (await res.json()) as { data?: { recordUsage: { status: string; refusal?: { code: string } | null } }; errors?: Array<{ extensions?: { code?: string } }> };
  if (body.errors) return { accepted: false, code: body.errors[0]?.extensions?.code ?? 'ERROR' };
  return { accepted: body.data!.recordUsage.status === 'ACCEPTED', code: body.data!.recordUsage.refusal?.code };
}

describe.each(['redis', 'cluster'] as const)(`${INSTANCES} server processes on one PostgreSQL and one Redis (%s)`, (store) => {
  let d: Deployment | undefined;
  beforeAll(async () => {
    d = await deploy(store);
  }, 90_000);
  afterAll(async () => {
    await ws.close();
    await undeploy(d);
  });

  it(`accept exactly 100 of ${CALLS} concurrent events for one wallet funded for 100, push every change from every instance, and fire each crossing once`, { timeout: 120_000 }, async () => {
    const { t, origins } = d!;
    const c = await fundedCustomer(t, FUNDS);
    const received: ReceivedHook[] = [];
    const receiver = await webhookReceiver(received);
    await t.admin.ok(CreateWebhookEndpointDocument, { input: { url: receiver.url, topics: ['ALERT_TRIGGERED'] } });
    // One crossing of a balance threshold, and a recurring spend threshold crossed five times (5, 10, … 25).
    const low = (await t.admin.ok(CreateAlertDefinitionDocument, { input: { name: 'low balance', metric: 'WALLET_BALANCE', walletId: c.walletId, threshold: '12.5' } })).createAlertDefinition.definition;
    const spend = (await t.admin.ok(CreateAlertDefinitionDocument, { input: { name: 'spend', metric: 'PERIOD_SPEND', customerId: c.customerId, threshold: '5', every: '5' } })).createAlertDefinition.definition;

    // A subscriber on every instance, each live (its snapshot arrived) before the traffic starts.
    const balances = origins.map((o) => new Watch(ws.open(`ws://${o}/graphql`, t.adminKey), WalletBalanceChangedDocument, { walletId: c.walletId }, 'walletBalanceChanged'));
    const alerts = origins.map((o) => new Watch(ws.open(`ws://${o}/graphql`, t.adminKey), AlertTriggeredDocument, { customerId: c.customerId }, 'alertTriggered'));
    const snapshots = await Promise.all(balances.map((w) => w.next(20_000)));
    for (const s of snapshots) expect(s).toMatchObject({ cause: 'SNAPSHOT', balance: FUNDS });

    const replies = await Promise.all(Array.from({ length: CALLS }, (_, i) => record(t, origins[i % INSTANCES]!, gpt4oInput(c.customerId, `spread-${i}`))));
    const accepted = replies.filter((r) => r.accepted);
    expect(accepted).toHaveLength(100);
    expect(new Set(replies.filter((r) => !r.accepted).map((r) => r.code))).toEqual(new Set(['WALLET_INSUFFICIENT_FUNDS']));
    // Every instance took part in spending the one budget.
    for (let i = 0; i < INSTANCES; i++) expect(replies.filter((r, n) => n % INSTANCES === i && r.accepted).length, `instance ${i}`).toBeGreaterThan(0);

    // PostgreSQL holds exactly the accepted events, and the wallet is at zero, never below.
    const ledger = await ledgerState(t, c.walletId!);
    expect(ledger).toMatchObject({ balance: '0', entries: '0', events: '100', charged: String(25n * 1_000_000_000n) });

    // Each instance's subscriber saw the whole spend, with an unbroken sequence: the changes
    // made on the other two instances reached it too.
    await Promise.all(
      balances.map(async (w, i) => {
        await until(() => w.received.at(-1)?.balance === '0', 30_000);
        const pushes = w.received;
        for (let n = 1; n < pushes.length; n++) expect(pushes[n]!.previousSequence, `instance ${i} push ${n}`).toBe(pushes[n - 1]!.sequence);
        const spent = pushes.slice(1).reduce((sum, p) => sum.plus(p.change as string), new Decimal(0));
        expect(spent.toString(), `instance ${i}`).toBe(`-${FUNDS}`);
        expect(pushes.slice(1).every((p) => p.cause === 'USAGE')).toBe(true);
      }),
    );

    // One alert per crossing: one row, one push on each instance's subscriber, one webhook.
    const stored = (await t.admin.ok(AlertsDocument, { customerId: c.customerId, first: 50 })).alerts.nodes;
    expect(stored.filter((a) => a.definitionId === low.id)).toHaveLength(1);
    expect(stored.filter((a) => a.definitionId === spend.id).map((a) => a.level).sort()).toEqual([0, 1, 2, 3, 4]);
    const ids = stored.map((a) => a.id).sort();
    await Promise.all(alerts.map((w) => until(() => w.received.length >= ids.length, 30_000)));
    await until(() => received.length >= ids.length, 30_000);
    await new Promise((r) => setTimeout(r, 500)); // anything doubled would arrive by now
    for (const w of alerts) expect(w.received.map((a) => a.id).sort()).toEqual(ids);
    expect(received.map((r) => JSON.parse(r.body).id as string).sort()).toEqual(ids);

    for (const w of [...balances, ...alerts]) w.close();
    await receiver.close();
  });
});
