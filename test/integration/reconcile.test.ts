import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuthorizeUsageDocument, RecordUsageDocument } from '../generated/graphql.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { runBilling } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue } from '../support/usage-fixtures.js';

/** `billing reconcile` in the states an incident brings: open reservations of every kind, drift, no Redis. */
let t: TestApp;
let env: Record<string, string>;
beforeAll(async () => {
  t = await startTestApp({ env: { SWEEP_INTERVAL_MS: '0' } });
  await setupCatalogue(t);
  env = { DATABASE_URL: t.db.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: t.redisPrefix, LOG_LEVEL: 'warn' };
});
afterAll(() => t.close());

const authorize = (customerId: string, key: string, estimate: Record<string, string>) =>
  t.admin.ok(AuthorizeUsageDocument, { input: { customerId, meterCode: 'llm_tokens', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: key, ...estimate } });

describe('billing reconcile', () => {
  it('runs clean while authorisations of every kind are open (prepaid and postpaid, by amount and by quantity)', async () => {
    const prepaid = await fundedCustomer(t, '10');
    const postpaid = await fundedCustomer(t, null, { spendingCap: '100' });
    for (const c of [prepaid, postpaid]) {
      await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `used-${c.customerId}`) });
      expect((await authorize(c.customerId, `amount-${c.customerId}`, { estimatedAmount: '1' })).authorizeUsage.status).toBe('AUTHORIZED');
      expect((await authorize(c.customerId, `quantity-${c.customerId}`, { estimatedQuantity: '200000' })).authorizeUsage.status).toBe('AUTHORIZED');
    }
    const r = await runBilling(['reconcile'], env);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/ 0 drift\(s\)\n$/);
    expect(r.code).toBe(0);
    // The same in process, and with every hold read back as the store keeps it.
    expect((await t.app.services.reconciler.run(false)).drifts).toEqual([]);
    const view = await t.app.store.inspect(postpaid.customerId, null);
    for (const hold of view.holds.values()) expect(hold).toMatchObject({ a: expect.any(Array), c: expect.any(Array) });
  });

  it('exits 1 with each difference printed, and 1 with --repair, which leaves no drift behind', async () => {
    const c = await fundedCustomer(t, '10');
    await authorize(c.customerId, 'open-one', { estimatedAmount: '2' });
    const redis = new Redis(TEST_REDIS_URL);
    const [main] = await t.app.sql.query<{ id: string }>(`select id from credit_block where wallet_id = $1 and kind = 'MAIN'`, [c.walletId]);
    await redis.hset(`${t.redisPrefix}{c:${c.customerId}}:s`, `bh:${main!.id}`, '5');
    redis.disconnect();
    const drift = await runBilling(['reconcile'], env);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain(`DRIFT  customer ${c.customerId}  block ${main!.id} held: postgres 2000000000, store 5`);
    const repair = await runBilling(['reconcile', '--repair'], env);
    expect(repair.code).toBe(1);
    expect(repair.stdout).toMatch(/1 repaired\nno drift after repair\n$/);
    expect((await runBilling(['reconcile'], env)).code).toBe(0);
  });

  it('exits 2 with a reason when it cannot run: no Redis configured, Redis unreachable, bad arguments', async () => {
    const noRedis = await runBilling(['reconcile'], { DATABASE_URL: t.db.url, LOG_LEVEL: 'warn' });
    expect(noRedis).toMatchObject({ code: 2, stdout: '' });
    expect(noRedis.stderr).toMatch(/reconcile could not run: it needs DATABASE_URL and REDIS_URL/);
    const down = await runBilling(['reconcile', '--repair'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/reconcile could not run: Redis at redis:\/\/127\.0\.0\.1:1\/? is unreachable \(connect ECONNREFUSED/);
    const bad = await runBilling(['reconcile', '--fix-everything'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option '--fix-everything'/);
  });
});

describe('billing reconcile on a Redis Cluster', () => {
  let c: TestApp;
  beforeAll(async () => {
    c = await startTestApp({ store: 'cluster', env: { SWEEP_INTERVAL_MS: '0' } });
    await setupCatalogue(c);
  });
  afterAll(() => c.close());

  it('reads every customer on its master, finds drift, repairs it, and says when the cluster is unreachable', async () => {
    const clusterEnv = { DATABASE_URL: c.db.url, REDIS_CLUSTER_NODES: inject('redisClusterNodes'), REDIS_PREFIX: c.redisPrefix, LOG_LEVEL: 'warn' };
    const customers = await Promise.all(Array.from({ length: 6 }, () => fundedCustomer(c, '10')));
    for (const x of customers) await c.admin.ok(RecordUsageDocument, { input: gpt4oInput(x.customerId, `used-${x.customerId}`) });
    const clean = await runBilling(['reconcile'], clusterEnv);
    expect(clean).toMatchObject({ code: 0, stderr: '' });
    expect(clean.stdout).toMatch(/^6 customer\(s\), 6 cached, 0 drift\(s\)\n$/);

    const [main] = await c.app.sql.query<{ id: string }>(`select id from credit_block where wallet_id = $1 and kind = 'MAIN'`, [customers[0]!.walletId]);
    const redis = new Cluster(inject('redisClusterNodes').split(',').map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) })));
    await redis.hset(`${c.redisPrefix}{c:${customers[0]!.customerId}}:s`, `br:${main!.id}`, '5');
    redis.disconnect();
    const drift = await runBilling(['reconcile', '--repair'], clusterEnv);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain(`DRIFT  customer ${customers[0]!.customerId}  block ${main!.id} balance: postgres 9750000000, store 5`);
    expect(drift.stdout).toMatch(/1 repaired\nno drift after repair\n$/);

    const down = await runBilling(['reconcile'], { ...clusterEnv, REDIS_CLUSTER_NODES: '127.0.0.1:1' });
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/reconcile could not run: Redis at 127\.0\.0\.1:1 \(a cluster\) is unreachable/);
  });
});

describe('the periodic store check', () => {
  it('notices drift without an operator: counts it in billing_store_drift_total, logs it, and repairs it', { timeout: 30_000 }, async () => {
    const app = await startTestApp({ env: { SWEEP_INTERVAL_MS: '0', STORE_CHECK_INTERVAL_MS: '300', STORE_CHECK_SAMPLE: '5', STORE_CHECK_REPAIR: 'true' } });
    try {
      await setupCatalogue(app);
      const c = await fundedCustomer(app, '10');
      await app.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'watched') });
      const metric = async () => Number(/^billing_store_drift_total (\d+)/m.exec(await (await fetch(app.url.replace('/graphql', '/metrics'))).text())?.[1] ?? 'NaN');
      expect(await metric()).toBe(0);
      const redis = new Redis(TEST_REDIS_URL);
      const [main] = await app.app.sql.query<{ id: string }>(`select id from credit_block where wallet_id = $1 and kind = 'MAIN'`, [c.walletId]);
      await redis.hset(`${app.redisPrefix}{c:${c.customerId}}:s`, `br:${main!.id}`, '999999999999');
      redis.disconnect();
      let drift = 0;
      for (let i = 0; i < 100 && drift === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        drift = await metric();
      }
      expect(drift).toBeGreaterThanOrEqual(1);
      // Repaired: the state was dropped, and the next event rebuilds it from PostgreSQL.
      const next = (await app.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'after') })).recordUsage;
      expect(next.wallet).toMatchObject({ balance: '9.5', available: '9.5' });
      expect((await app.app.services.reconciler.run(false)).drifts).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
