import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres.js';
import { RecordUsageDocument } from '../generated/graphql.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/env.js';
import { freePort } from '../support/process.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, ledgerState, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

/**
 * Faults an operator lives through, while usage streams: PostgreSQL restarted, Redis restarted
 * (its memory gone, not just flushed), and both cut off through a TCP proxy for a few seconds.
 * Afterwards: no acknowledged event is lost, none is charged twice, the service has recovered by
 * itself, and the store reconciles clean with PostgreSQL.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
});

/** Streams `perCustomer` events for each customer from `width` workers; returns the ids acknowledged. */
function stream(t: TestApp, customers: Funded[], perCustomer: number, width: number) {
  const inputs = customers.flatMap((c, ci) => Array.from({ length: perCustomer }, (_, i) => gpt4oInput(c.customerId, `chaos-${ci}-${i}`, '1000')));
  const acked: string[] = [];
  const errors = new Map<string, number>();
  let next = 0;
  const done = Promise.all(
    Array.from({ length: width }, async () => {
      while (next < inputs.length) {
        const input = inputs[next++]!;
        const r = await t.admin.request(RecordUsageDocument, { input }).catch(() => undefined);
        if (r?.data?.recordUsage.status === 'ACCEPTED') acked.push(r.data.recordUsage.event!.id);
        else {
          const code = r?.errors?.[0]?.extensions?.code ?? r?.data?.recordUsage.refusal?.code ?? 'no answer';
          errors.set(String(code), (errors.get(String(code)) ?? 0) + 1);
        }
        await sleep(5);
      }
    }),
  );
  return { inputs, acked, errors, done, progress: () => next };
}

/** Every acknowledged event is stored once; retrying every input charges nothing twice; the store agrees with PostgreSQL. */
async function assertRecovered(t: TestApp, customers: Funded[], run: ReturnType<typeof stream>) {
  expect(run.acked.length).toBeGreaterThan(0);
  // What failed during the fault said so with a retryable code: nothing internal, nothing final.
  expect([...run.errors.keys()].filter((code) => code !== 'SERVICE_UNAVAILABLE' && code !== 'CONFLICT')).toEqual([]);
  const stored = await t.app.sql.query<{ id: string }>('select id from usage_event where id = any($1::uuid[])', [run.acked]);
  expect(stored.length).toBe(run.acked.length);
  // The service recovers by itself: every input goes through now, the acknowledged ones as replays.
  let retried: Array<{ recordUsage: { status: string; replayed: boolean; event: { id: string } | null } }> = [];
  for (let attempt = 0; attempt < 40; attempt++) {
    const replies = await Promise.all(run.inputs.map((input) => t.admin.request(RecordUsageDocument, { input })));
    if (replies.every((r) => r.data?.recordUsage.status === 'ACCEPTED')) {
      retried = replies.map((r) => r.data!);
      break;
    }
    await sleep(250);
  }
  expect(retried.length).toBe(run.inputs.length);
  const ackedSet = new Set(run.acked);
  for (const r of retried) if (ackedSet.has(r.recordUsage.event!.id)) expect(r.recordUsage.replayed).toBe(true);
  const [{ n }] = (await t.app.sql.query<{ n: number }>('select count(*)::int as n from usage_event where customer_id = any($1::uuid[])', [customers.map((c) => c.customerId)])) as [{ n: number }];
  expect(n).toBe(run.inputs.length);
  for (const c of customers) {
    const s = await ledgerState(t, c.walletId!);
    expect(s.balance).toBe(s.entries);
    expect(BigInt(s.usage)).toBe(-BigInt(s.charged));
  }
  // Holds left by requests that failed lapse after USAGE_HOLD_SECONDS; the sweep then resolves them.
  let drifts: unknown[] = ['not checked'];
  for (let i = 0; i < 30 && drifts.length > 0; i++) {
    await sleep(500);
    drifts = (await t.app.services.reconciler.run(false)).drifts;
  }
  expect(drifts).toEqual([]);
}

const faultEnv = { USAGE_HOLD_SECONDS: '5', SWEEP_INTERVAL_MS: '500', STORE_CHECK_INTERVAL_MS: '0' };

describe('chaos while usage streams', () => {
  it('PostgreSQL restarted', { timeout: 180_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'billing-chaos-pg-'));
    const port = await freePort();
    const logger = pino({ level: 'silent' });
    let pg: EmbeddedPostgres = await startEmbeddedPostgres(dataDir, port, logger);
    cleanups.push(async () => {
      await pg.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    const t = await startTestApp({ env: { ...faultEnv, DATABASE_URL: pg.url, MIGRATE_ON_START: 'true' } });
    cleanups.push(() => t.close());
    await setupCatalogue(t);
    const customers = await Promise.all(Array.from({ length: 3 }, () => fundedCustomer(t, '100')));
    const run = stream(t, customers, 60, 6);
    while (run.acked.length < 20) await sleep(20);
    await pg.stop();
    await sleep(1_000);
    pg = await startEmbeddedPostgres(dataDir, port, logger);
    await run.done;
    await assertRecovered(t, customers, run);
  });

  it('Redis restarted, its memory gone', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const dir = await mkdtemp(path.join(tmpdir(), 'billing-chaos-redis-'));
    const startRedis = async (): Promise<ChildProcess> => {
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      for (let i = 0; i < 100; i++) {
        const { Redis } = await import('ioredis');
        const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => undefined);
        const up = await probe.connect().then(() => true, () => false);
        probe.disconnect();
        if (up) return child;
        await sleep(50);
      }
      throw new Error('redis did not start');
    };
    let redis = await startRedis();
    cleanups.push(async () => {
      redis.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    });
    const t = await startTestApp({ env: { ...faultEnv, REDIS_URL: `redis://127.0.0.1:${port}` } });
    cleanups.push(() => t.close());
    await setupCatalogue(t);
    const customers = await Promise.all(Array.from({ length: 3 }, () => fundedCustomer(t, '100')));
    const run = stream(t, customers, 60, 6);
    while (run.acked.length < 20) await sleep(20);
    const exited = new Promise((r) => redis.once('exit', r));
    redis.kill('SIGKILL');
    await exited;
    await sleep(1_000);
    redis = await startRedis();
    await run.done;
    await assertRecovered(t, customers, run);
  });

  it('PostgreSQL and Redis both cut off for a few seconds', { timeout: 180_000 }, async () => {
    const redisUrl = new URL(TEST_REDIS_URL);
    const pgUrl = new URL(TEST_DATABASE_URL);
    const redisProxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    const pgProxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
    await redisProxy.start();
    await pgProxy.start();
    cleanups.push(() => redisProxy.stop(), () => pgProxy.stop());
    const db = await (await import('../support/database.js')).createTestDatabase();
    cleanups.push(() => db.drop());
    const proxied = new URL(db.url);
    proxied.port = String(pgProxy.port);
    const t = await startTestApp({ db, env: { ...faultEnv, DATABASE_URL: proxied.toString(), REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` } });
    cleanups.push(() => t.close());
    await setupCatalogue(t);
    const customers = await Promise.all(Array.from({ length: 3 }, () => fundedCustomer(t, '100')));
    const run = stream(t, customers, 60, 6);
    while (run.acked.length < 20) await sleep(20);
    await Promise.all([redisProxy.cut(), pgProxy.cut()]);
    await sleep(3_000);
    await Promise.all([redisProxy.restore(), pgProxy.restore()]);
    await run.done;
    await assertRecovered(t, customers, run);
  });
});
