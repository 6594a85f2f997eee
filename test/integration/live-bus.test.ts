import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MemoryLiveBus, type LiveBus, type LiveMessage } from '../../src/modules/live/live.bus.js';
import { RedisLiveBus } from '../../src/modules/live/redis.bus.js';
import { createRedisClient } from '../../src/modules/reservations/redis.store.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { clusterClient, nodeCommand, ownerOf, slotOf } from '../support/redis-cluster.js';
import { deleteRedisKeys } from '../support/test-app.js';

const prefix = `test:${randomBytes(4).toString('hex')}:`;
const redisClients: Array<Redis | Cluster> = [];
const buses: LiveBus[] = [];

async function redisBus(cluster = false): Promise<RedisLiveBus> {
  const redis = cluster ? await clusterClient() : createRedisClient(TEST_REDIS_URL);
  if (!cluster) await redis.connect();
  redisClients.push(redis);
  const bus = new RedisLiveBus(redis, prefix, (err) => {
    throw err;
  });
  buses.push(bus);
  return bus;
}

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  for (const r of redisClients) r.disconnect();
  await deleteRedisKeys(prefix);
});

const message = (customerId: string, n: number): LiveMessage => ({
  type: 'balance',
  customerId,
  walletId: 'w',
  currency: 'USD',
  balance: String(n),
  available: String(n),
  held: '0',
  change: '-1',
  cause: 'USAGE',
  sequence: String(n),
  previousSequence: String(n - 1),
  at: new Date().toISOString(),
});

const settle = () => new Promise((r) => setTimeout(r, 100));

describe.each([
  ['redis', () => redisBus()],
  ['redis cluster', () => redisBus(true)],
  ['memory', async () => new MemoryLiveBus()],
] as const)('live bus contract: %s', (_name, make) => {
  it('delivers a channel\'s messages, in order, to each of its listeners and to no other channel', async () => {
    const bus = await make();
    const a: LiveMessage[] = [];
    const b: LiveMessage[] = [];
    const other: LiveMessage[] = [];
    const offA = await bus.subscribe('c1', (m) => a.push(...m));
    const offB = await bus.subscribe('c1', (m) => b.push(...m));
    const offOther = await bus.subscribe('c2', (m) => other.push(...m));
    await bus.publish('c1', [message('c1', 1), message('c1', 2)]);
    await bus.publish('c1', [message('c1', 3)]);
    await settle();
    expect(a.map((m) => (m as { balance: string }).balance)).toEqual(['1', '2', '3']);
    expect(b).toEqual(a);
    expect(other).toEqual([]);
    offA();
    await bus.publish('c1', [message('c1', 4)]);
    await settle();
    expect(a).toHaveLength(3);
    expect(b).toHaveLength(4);
    offB();
    offOther();
  });

  it('decodes each message once for all the listeners of an instance', async () => {
    const bus = await make();
    const seen: Array<readonly LiveMessage[]> = [];
    const offs = await Promise.all([1, 2, 3].map(() => bus.subscribe('once', (m) => seen.push(m))));
    await bus.publish('once', [message('once', 1)]);
    await settle();
    expect(seen).toHaveLength(3);
    expect(seen[1]).toBe(seen[0]);
    expect(seen[2]).toBe(seen[0]);
    offs.forEach((off) => off());
  });
});

describe('Redis channels', () => {
  it('are subscribed only while an instance has listeners on them', async () => {
    const bus = await redisBus();
    const probe = redisClients[0] as Redis;
    const count = async () => Number(((await probe.pubsub('NUMSUB', `${prefix}live:watched`)) as [string, number])[1]);
    expect(await count()).toBe(0);
    const off1 = await bus.subscribe('watched', () => undefined);
    const off2 = await bus.subscribe('watched', () => undefined);
    expect(await count()).toBe(1);
    off1();
    await settle();
    expect(await count()).toBe(1);
    off2();
    await settle();
    expect(await count()).toBe(0);
    expect(bus.channels).toBe(0);
  });

  it('carry a message published on one instance to listeners on another', async () => {
    const [one, two] = [await redisBus(), await redisBus()];
    const got: LiveMessage[] = [];
    const off = await two.subscribe('shared', (m) => got.push(...m));
    await one.publish('shared', [message('shared', 7)]);
    await settle();
    expect(got).toHaveLength(1);
    off();
  });
});

describe('Redis Cluster channels', () => {
  const nodes = () => inject('redisClusterNodes').split(',').map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) }));
  /** Listeners of a sharded channel, as the master that serves its slot counts them. */
  const shardSubscribers = async (channel: string) => {
    const owner = await ownerOf(nodes(), await slotOf(nodes()[0]!, channel));
    return Number(((await nodeCommand(owner, 'PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]);
  };

  it('are sharded, on the slot of the customer\'s hash tag, and subscribed only while an instance has listeners', async () => {
    const bus = await redisBus(true);
    const channel = `${prefix}live:{c:sharded}`;
    expect(await slotOf(nodes()[0]!, channel)).toBe(await slotOf(nodes()[0]!, `${prefix}{c:sharded}:s`));
    expect(await shardSubscribers(channel)).toBe(0);
    const off1 = await bus.subscribe('sharded', () => undefined);
    const off2 = await bus.subscribe('sharded', () => undefined);
    expect(await shardSubscribers(channel)).toBe(1);
    off1();
    await settle();
    expect(await shardSubscribers(channel)).toBe(1);
    off2();
    await settle();
    expect(await shardSubscribers(channel)).toBe(0);
    expect(bus.channels).toBe(0);
  });

  it('carry messages between instances for channels on every master', async () => {
    const [one, two] = [await redisBus(true), await redisBus(true)];
    const names = Array.from({ length: 12 }, (_, i) => `spread-${i}`);
    const owners = new Set(await Promise.all(names.map(async (n) => (await ownerOf(nodes(), await slotOf(nodes()[0]!, `${prefix}live:{c:${n}}`))).port)));
    expect(owners.size).toBe(nodes().length);
    const got: string[] = [];
    const offs = await Promise.all(names.map((n) => two.subscribe(n, (m) => got.push(...m.map((x) => (x as { customerId: string }).customerId)))));
    await Promise.all(names.map((n, i) => one.publish(n, [message(n, i)])));
    await settle();
    expect(got.sort()).toEqual([...names].sort());
    offs.forEach((off) => off());
  });
});
