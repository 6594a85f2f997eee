import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordUsageDocument } from '../generated/graphql.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/env.js';
import { codesOf, TestClient } from '../support/graphql-client.js';
import { freePort, runBilling, startServerProcess } from '../support/process.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, ledgerState, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every event's id appears once, and each wallet's balance is the sum of its entries, never below zero. */
async function assertLedgerSound(t: TestApp, customers: Funded[]) {
  const dup = await t.app.sql.query<{ n: number }>('select count(*)::int as n from (select customer_id, idempotency_key from usage_event group by 1, 2 having count(*) > 1) d');
  expect(dup).toEqual([{ n: 0 }]);
  for (const c of customers) {
    const s = await ledgerState(t, c.walletId!);
    expect(s.balance).toBe(s.entries);
    expect(BigInt(s.balance)).toBeGreaterThanOrEqual(0n);
    expect(BigInt(s.usage)).toBe(-BigInt(s.charged));
  }
}

describe('Redis flushed in the middle of a concurrent run', () => {
  // A Redis database of its own, so FLUSHDB (atomic, like a restart without persistence) touches nothing else.
  const FLUSH_DB = `${TEST_REDIS_URL}/9`;
  let t: TestApp;
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(FLUSH_DB);
    await redis.flushdb();
    t = await startTestApp({ env: { REDIS_URL: FLUSH_DB } });
    await setupCatalogue(t);
  });
  afterAll(async () => {
    await t.close();
    await redis.flushdb();
    redis.disconnect();
  });

  it('charges nothing twice, never overspends, and reconciles with no drift', async () => {
    const customers = await Promise.all(Array.from({ length: 4 }, () => fundedCustomer(t, '10'))); // 40 events each
    const inputs = customers.flatMap((c, ci) => Array.from({ length: 60 }, (_, i) => gpt4oInput(c.customerId, `f-${ci}-${i}`)));
    let flushed = false;
    const replies = await Promise.all(
      inputs.map(async (input, i) => {
        if (i === 120 && !flushed) {
          flushed = true;
          await redis.flushdb();
        }
        return t.admin.request(RecordUsageDocument, { input });
      }),
    );
    expect(flushed).toBe(true);
    const accepted = replies.filter((r) => r.data?.recordUsage.status === 'ACCEPTED').length;
    expect(accepted).toBeLessThanOrEqual(160);

    // Retrying everything charges nothing new for what was accepted.
    const retries = await Promise.all(inputs.map((input) => t.admin.ok(RecordUsageDocument, { input })));
    const charged = await t.app.sql.query<{ n: number }>('select count(*)::int as n from usage_event');
    expect(charged[0]!.n).toBe(160);
    expect(retries.filter((r) => r.recordUsage.status === 'ACCEPTED').length).toBe(160);
    await assertLedgerSound(t, customers);
    for (const c of customers) expect(await ledgerState(t, c.walletId!)).toMatchObject({ balance: '0', events: '40' });

    const report = await t.app.services.reconciler.run(false);
    expect(report.drifts).toEqual([]);
    expect(report.checked).toBeGreaterThan(0);
  });
});

describe('the server killed during a concurrent run', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    await setupCatalogue(t);
  });
  afterAll(() => t.close());

  it('keeps every accepted event exactly once after a restart, and reconciles with no drift', { timeout: 120_000 }, async () => {
    const customers = await Promise.all(Array.from({ length: 3 }, () => fundedCustomer(t, '100')));
    const env = { DATABASE_URL: t.db.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: t.redisPrefix, LOG_LEVEL: 'warn', MIGRATE_ON_START: 'false', USAGE_HOLD_SECONDS: '5', SWEEP_INTERVAL_MS: '500' };
    const port = await freePort();
    const server = startServerProcess({ ...env, PORT: String(port) });
    const client = new TestClient(`http://127.0.0.1:${port}/graphql`, t.adminKey);
    for (let i = 0; i < 100; i++) {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok) break;
      await sleep(100);
    }
    const inputs = customers.flatMap((c, ci) => Array.from({ length: 200 }, (_, i) => gpt4oInput(c.customerId, `kill-${ci}-${i}`, '1000')));
    const acceptedIds: string[] = [];
    let sent = 0;
    const workers = Array.from({ length: 24 }, async () => {
      while (sent < inputs.length) {
        const input = inputs[sent++]!;
        const r = await client.request(RecordUsageDocument, { input }).catch(() => undefined);
        if (r?.data?.recordUsage.status === 'ACCEPTED') acceptedIds.push(r.data.recordUsage.event!.id);
      }
    });
    // Kill it mid-traffic: once some events are acknowledged (however loaded the machine is).
    for (let i = 0; i < 400 && acceptedIds.length < 20; i++) await sleep(25);
    server.child.kill('SIGKILL');
    await Promise.all(workers);
    expect(acceptedIds.length).toBeGreaterThan(0);
    expect(acceptedIds.length).toBeLessThan(inputs.length);

    const stored = await t.app.sql.query<{ id: string }>('select id from usage_event where id = any($1::uuid[])', [acceptedIds]);
    expect(stored.length).toBe(acceptedIds.length);
    expect(new Set(acceptedIds).size).toBe(acceptedIds.length);

    // Restart; the sweep resolves the holds the dead process left once they expire.
    const port2 = await freePort();
    const restarted = startServerProcess({ ...env, PORT: String(port2) });
    try {
      for (let i = 0; i < 100; i++) {
        if ((await fetch(`http://127.0.0.1:${port2}/readyz`).catch(() => undefined))?.ok) break;
        await sleep(100);
      }
      // Holds left in flight by the dead process lapse after USAGE_HOLD_SECONDS; the sweep then
      // posts those whose events were committed and releases the others.
      await sleep(6_500);
      const again = new TestClient(`http://127.0.0.1:${port2}/graphql`, t.adminKey);
      const replays = await Promise.all(inputs.slice(0, 20).map((input) => again.ok(RecordUsageDocument, { input })));
      expect(replays.every((r) => r.recordUsage.status === 'ACCEPTED')).toBe(true);
      await assertLedgerSound(t, customers);
      const reconcile = await runBilling(['reconcile'], env);
      expect(reconcile.stdout).toMatch(/ 0 drift\(s\)/);
      expect(reconcile.code).toBe(0);
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }
  });
});

describe('billing reconcile', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    await setupCatalogue(t);
  });
  afterAll(() => t.close());

  it('prints drift and exits 1, and repairs it with --repair', async () => {
    const c = await fundedCustomer(t, '10');
    await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'r1') });
    const env = { DATABASE_URL: t.db.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: t.redisPrefix, LOG_LEVEL: 'warn' };
    expect((await runBilling(['reconcile'], env)).code).toBe(0);

    const redis = new Redis(TEST_REDIS_URL);
    const [main] = await t.app.sql.query<{ id: string }>(`select id from credit_block where wallet_id = $1 and kind = 'MAIN'`, [c.walletId]);
    await redis.hset(`${t.redisPrefix}{c:${c.customerId}}:s`, `br:${main!.id}`, '123');
    redis.disconnect();

    const drift = await runBilling(['reconcile'], env);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain(`DRIFT  customer ${c.customerId}  block ${main!.id} balance: postgres 9750000000, store 123`);
    const repaired = await runBilling(['reconcile', '--repair'], env);
    // Drift was found (exit 1), and repaired: the re-check is clean.
    expect(repaired.code).toBe(1);
    expect(repaired.stdout).toContain('no drift after repair');
    expect((await runBilling(['reconcile'], env)).code).toBe(0);
    const next = (await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'r2') })).recordUsage;
    expect(next.wallet?.balance).toBe('9.5');
  });
});

describe('an unreachable Redis or PostgreSQL', () => {
  it('fails fast with SERVICE_UNAVAILABLE, charges nothing, and recovers by itself', { timeout: 60_000 }, async () => {
    const redisUrl = new URL(TEST_REDIS_URL);
    const pgUrl = new URL(TEST_DATABASE_URL);
    const redisProxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    const pgProxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
    await redisProxy.start();
    await pgProxy.start();
    const db = await (await import('../support/database.js')).createTestDatabase();
    const proxied = new URL(db.url);
    proxied.port = String(pgProxy.port);
    const t = await startTestApp({ db, env: { DATABASE_URL: proxied.toString(), REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` } });
    try {
      await setupCatalogue(t);
      const c = await fundedCustomer(t, '10');
      expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'ok-1') })).recordUsage.status).toBe('ACCEPTED');

      await redisProxy.cut();
      const noRedis = await t.admin.request(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'no-redis') });
      expect(codesOf(noRedis)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(noRedis.errors![0]!.extensions!.retryable).toBe(true);
      await redisProxy.restore();
      let back;
      for (let i = 0; i < 50 && back?.data?.recordUsage.status !== 'ACCEPTED'; i++) {
        await sleep(200);
        back = await t.admin.request(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'no-redis') });
      }
      expect(back?.data?.recordUsage.status).toBe('ACCEPTED');

      await pgProxy.cut();
      const noPg = await t.admin.request(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'no-pg') });
      expect(codesOf(noPg)).toEqual(['SERVICE_UNAVAILABLE']);
      await pgProxy.restore();
      let pgBack;
      for (let i = 0; i < 50 && pgBack?.data?.recordUsage.status !== 'ACCEPTED'; i++) {
        await sleep(200);
        pgBack = await t.admin.request(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'no-pg') });
      }
      expect(pgBack?.data?.recordUsage.status).toBe('ACCEPTED');
      expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '3', balance: '9250000000' });
      const report = await t.app.services.reconciler.run(false);
      expect(report.drifts).toEqual([]);
    } finally {
      await t.close();
      await db.drop();
      await redisProxy.stop();
      await pgProxy.stop();
    }
  });
});
