import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLiveBus } from '../../src/modules/live/redis.bus.js';
import type { LiveMessage } from '../../src/modules/live/live.bus.js';
import { RedisReservationStore } from '../../src/modules/reservations/redis.store.js';
import type { PostItem, ReserveEvent } from '../../src/modules/reservations/reservation.store.js';
import { RecordUsageDocument } from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { clusterClient, migrateSlot, nodeCommand, ownerOf, redirections, slotOf, startRedisCluster, type RunningRedisCluster } from '../support/redis-cluster.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, ledgerState, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

/*
 * Resharding and a lost master: slots move from one master to another while the service works
 * on them, and a master dies. These tests run on a cluster of their own rather than the run's
 * shared one, in order: the last one empties a master.
 */

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

let cluster: RunningRedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
afterAll(() => cluster.stop());

/** Moves the slot of a hash tag to another master: the slot, both masters, and how many keys moved. */
async function moveSlotOf(tag: string, options: Parameters<typeof migrateSlot>[3] = {}) {
  const slot = await slotOf(cluster.nodes[0]!, tag);
  const from = await ownerOf(cluster.nodes, slot);
  const to = cluster.nodes.find((n) => n.port !== from.port)!;
  const moved = await migrateSlot(cluster.nodes, slot, to, options);
  expect((await ownerOf(cluster.nodes, slot)).port).toBe(to.port);
  return { slot, from, to, moved };
}

describe('a script on a slot split between two masters', () => {
  const U = 1_000_000_000n;
  const NOW = Date.now();
  const ev = (key: string): ReserveEvent => ({
    idempotencyKey: key, requestHash: `hash-${key}`, holdId: `hold-${key}`, expiresAt: NOW + 60_000, kind: 'usage', currency: 'USD', amount: U,
    periodKey: '2026-11', counters: [{ key: 'tokens', delta: 7n, from: 0n, to: null }], meterQuantity: null, settles: null,
  });
  const post = (key: string): PostItem => ({
    holdId: `hold-${key}`, idempotencyKey: key, requestHash: `hash-${key}`, ref: `event-${key}`, keep: false, hold: null,
    allocations: [{ blockId: 'main', amount: U }], periodKey: '2026-11', counters: [['tokens', 7n]], meterQuantity: null, currency: 'USD', amount: U, postpaid: false, walletId: 'w1',
  });

  it('waits until the slot has moved, instead of running on the old master and failing halfway', { timeout: 60_000 }, async () => {
    const redis = await clusterClient(cluster.spec);
    const store = new RedisReservationStore(redis, 'split:');
    try {
      const id = 'split-1';
      const token = (await store.beginLoad(id, null, 'tok'))!;
      await store.load(id, { version: 1n, generation: 'g', token, wallets: [{ id: 'w1', currency: 'USD', mode: 'HARD', overdraft: 0n, order: ['main'] }], blocks: [{ id: 'main', kind: 'M', expiresAt: null, remaining: 10n * U }], caps: {}, holds: [] });
      const periodToken = (await store.beginLoad(id, '2026-11', 'ptok'))!;
      await store.loadPeriod(id, { periodKey: '2026-11', version: 1n, token: periodToken, expireAt: NOW + 86_400_000, counters: new Map(), meterQuantities: new Map(), spend: new Map() });
      for (const key of ['a', 'b']) expect((await store.reserve(id, NOW, [ev(key)], false)).kind).toBe('DONE');
      // b's hold is lost (its idempotency record stays): the post of a and b finds a's hold and
      // applies b from its arguments, and every key it declares exists on the old master.
      await store.release(id, ['hold-b'], false);

      let settled = false;
      let posting: Promise<unknown> = Promise.resolve();
      await moveSlotOf(`{c:${id}}`, {
        before: async () => {
          posting = store.post(id, 2n, [post('a'), post('b')], NOW).finally(() => {
            settled = true;
          });
          await sleep(150);
          // Not run on the old master: a's hold is still there, untouched.
          expect(settled).toBe(false);
        },
      });
      expect(await posting).toEqual({ found: 1, wallets: [{ walletId: 'w1', available: 8n * U, held: 0n }] });
      const view = await store.inspect(id, null);
      expect(view.holds.size).toBe(0);
      expect(view.fields).toMatchObject({ 'br:main': String(8n * U), 'bh:main': '0' });
    } finally {
      redis.disconnect();
    }
  });
});

describe('usage while the customers\' slots move to other masters', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ store: 'cluster', env: { REDIS_CLUSTER_NODES: cluster.spec, SWEEP_INTERVAL_MS: '0' } });
    await setupCatalogue(t);
  });
  afterAll(() => t.close());

  it('loses nothing, charges nothing twice, and leaves Redis equal to PostgreSQL', { timeout: 120_000 }, async () => {
    const customers: Funded[] = await Promise.all(Array.from({ length: 4 }, () => fundedCustomer(t, '10'))); // 40 events of 0.25 each
    const inputs = customers.flatMap((c, ci) => Array.from({ length: 50 }, (_, i) => gpt4oInput(c.customerId, `m-${ci}-${i}`)));
    // Interleaved, so that every customer has calls in flight while its slot moves.
    const order = inputs.map((_, i) => inputs[(i % 4) * 50 + Math.floor(i / 4)]!);

    const replies: Array<Awaited<ReturnType<TestApp['admin']['request']>>> = [];
    let sent = 0;
    const worker = async () => {
      while (sent < order.length) {
        const input = order[sent++]!;
        replies.push(await t.admin.request(RecordUsageDocument, { input }));
        await sleep(5);
      }
    };
    const run = Promise.all(Array.from({ length: 8 }, worker));

    // Once every customer's state is in Redis, move each customer's slot, a few keys at a time,
    // with calls arriving while the slot is split between two masters.
    while (replies.length < 40) await sleep(10);
    const before = await redirections(cluster.nodes);
    const moves = [];
    const answered = [replies.length];
    for (const c of customers) moves.push(await moveSlotOf(`{c:${c.customerId}}`, { batch: 5, between: () => sleep(20) }));
    answered.push(replies.length);
    await run;
    const after = await redirections(cluster.nodes);
    // The moves overlapped the calls, and calls met split slots (TRYAGAIN) and moved ones.
    expect(answered[1]!).toBeGreaterThan(answered[0]!);
    expect(after.TRYAGAIN - before.TRYAGAIN).toBeGreaterThan(0);
    expect(after.MOVED - before.MOVED).toBeGreaterThan(0);
    expect(sent).toBe(order.length);
    expect(moves.every((m) => m.moved > 0)).toBe(true);

    // No call failed: redirections and retries stayed inside the client.
    expect(replies.flatMap((r) => r.errors ?? [])).toEqual([]);
    const accepted = replies.filter((r) => (r.data as { recordUsage: { status: string } }).recordUsage.status === 'ACCEPTED').length;
    expect(accepted).toBe(160);

    // Everything again: each accepted event is a replay, nothing new is charged.
    const retries = await Promise.all(inputs.map((input) => t.admin.ok(RecordUsageDocument, { input })));
    expect(retries.filter((r) => r.recordUsage.status === 'ACCEPTED' && !r.recordUsage.replayed)).toEqual([]);

    const events = await t.app.sql.query<{ n: number; keys: number }>('select count(*)::int as n, count(distinct (customer_id, idempotency_key))::int as keys from usage_event');
    expect(events).toEqual([{ n: 160, keys: 160 }]);
    for (const c of customers) {
      const s = await ledgerState(t, c.walletId!);
      expect(s).toMatchObject({ balance: '0', entries: '0', events: '40', charged: '10000000000', usage: '-10000000000' });
    }
    // Redis moved with the slots and agrees with PostgreSQL, balances, holds and period counters.
    const report = await t.app.services.reconciler.run(false, customers.map((c) => c.customerId));
    expect(report.drifts).toEqual([]);
    expect(report.checked).toBe(4);
    for (const [i, c] of customers.entries()) {
      const keys = (await nodeCommand(moves[i]!.to, 'CLUSTER', 'COUNTKEYSINSLOT', moves[i]!.slot)) as number;
      expect(keys, c.customerId).toBeGreaterThan(0);
      expect(await nodeCommand(moves[i]!.from, 'CLUSTER', 'COUNTKEYSINSLOT', moves[i]!.slot)).toBe(0);
    }
  });
});

describe('live messages while a channel\'s slot moves', () => {
  const clients: Cluster[] = [];
  const errors: unknown[] = [];
  afterAll(() => clients.forEach((c) => c.disconnect()));

  async function bus(): Promise<RedisLiveBus> {
    const redis = await clusterClient(cluster.spec);
    clients.push(redis);
    return new RedisLiveBus(redis, 'reshard:', (err) => errors.push(err));
  }

  const message = (n: number): LiveMessage => ({ type: 'revoked', credentialId: `k-${n}`, at: new Date().toISOString() });

  it('live on the shard of the channel\'s customer, and follow the slot to its new master', { timeout: 60_000 }, async () => {
    const [listener, publisher] = [await bus(), await bus()];
    const got: string[] = [];
    const off = await listener.subscribe('moving', (m) => got.push(...m.map((x) => (x as { credentialId: string }).credentialId)));
    const channel = 'reshard:live:{c:moving}';
    const slot = await slotOf(cluster.nodes[0]!, channel);
    const shardSubscribers = async (node: (typeof cluster.nodes)[number]) => Number(((await nodeCommand(node, 'PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]);
    expect(await shardSubscribers(await ownerOf(cluster.nodes, slot))).toBe(1);

    await publisher.publish('moving', [message(1)]);
    await until(() => got.includes('k-1'));

    const { to, from } = await moveSlotOf('{c:moving}');
    // The old master dropped the subscription with the slot; the listener subscribes on the new one.
    await until(async () => (await shardSubscribers(to)) === 1);
    expect(await shardSubscribers(from)).toBe(0);
    let n = 2;
    await until(async () => {
      await publisher.publish('moving', [message(n++)]);
      await sleep(50);
      return got.length > 1;
    });
    expect(got.slice(1).every((id) => Number(id.slice(2)) >= 2)).toBe(true);
    off();
    expect(errors).toEqual([]);
    await listener.close();
    await publisher.close();
  });
});

describe('a master lost and restarted empty', () => {
  it('fails fast with SERVICE_UNAVAILABLE, charges nothing, and recovers by itself', { timeout: 60_000 }, async () => {
    // Commands give up after 2 s (FailFastCluster); without that bound, a command for a dead
    // master is retried every 100 ms up to the redirection limit, far past this test's timeout.
    const t = await startTestApp({ store: 'cluster', env: { REDIS_CLUSTER_NODES: cluster.spec } });
    try {
      await setupCatalogue(t);
      const c = await fundedCustomer(t, '10');
      expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'before') })).recordUsage.status).toBe('ACCEPTED');
      const owner = await ownerOf(cluster.nodes, await slotOf(cluster.nodes[0]!, `{c:${c.customerId}}`));

      await cluster.kill(owner);
      const down = await t.admin.request(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'down') });
      expect(codesOf(down)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(down.errors![0]!.extensions!.retryable).toBe(true);

      await cluster.restart(owner);
      let back;
      for (let i = 0; i < 100 && (back?.data as { recordUsage?: { status: string } } | undefined)?.recordUsage?.status !== 'ACCEPTED'; i++) {
        await sleep(200);
        back = await t.admin.request(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'down') });
      }
      expect((back?.data as { recordUsage: { status: string } }).recordUsage.status).toBe('ACCEPTED');
      // The master came back empty: the customer's state was rebuilt from PostgreSQL.
      expect(await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'before') })).toMatchObject({ recordUsage: { replayed: true } });
      expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '2', balance: '9500000000', entries: '9500000000' });
      const report = await t.app.services.reconciler.run(false, [c.customerId]);
      expect(report.drifts).toEqual([]);
      expect(report.checked).toBe(1);
    } finally {
      await t.close();
    }
  });
});
