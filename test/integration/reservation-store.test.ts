import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MemoryReservationStore } from '../../src/modules/reservations/memory.store.js';
import { createRedisClient, RedisReservationStore, type RedisClient } from '../../src/modules/reservations/redis.store.js';
import { scriptKeys } from '../../src/modules/reservations/store-codec.pure.js';
import { StateNotLoaded, type AccountSnapshot, type PeriodSnapshot, type PostItem, type ReservationStore, type ReserveEvent } from '../../src/modules/reservations/reservation.store.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { clusterClient } from '../support/redis-cluster.js';
import { deleteRedisKeys } from '../support/test-app.js';

const prefix = `test:${randomBytes(4).toString('hex')}:`;
const clients: RedisClient[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await deleteRedisKeys(prefix);
  await deleteRedisKeys(prefix, inject('redisClusterNodes'));
});

async function redisStore(cluster: boolean): Promise<RedisReservationStore> {
  const redis: RedisClient = cluster ? await clusterClient() : createRedisClient(TEST_REDIS_URL);
  if (!cluster) await redis.connect();
  clients.push(redis);
  return new RedisReservationStore(redis, prefix);
}

const NOW = Date.now();
const stores: Array<[string, () => Promise<ReservationStore>]> = [
  ['redis', () => redisStore(false)],
  ['redis cluster', () => redisStore(true)],
  ['memory', async () => new MemoryReservationStore(() => NOW)],
];

let seq = 0;
const customer = () => `cust-${Date.now()}-${seq++}`;
const U = 1_000_000_000n; // one currency unit in ledger units

function snapshot(overrides: Partial<AccountSnapshot> = {}): AccountSnapshot {
  return {
    version: 10n,
    generation: `gen-${seq++}`,
    token: '',
    wallets: [{ id: 'w1', currency: 'USD', mode: 'HARD', overdraft: 0n, order: ['g-late', 'g-soon', 'g-expired', 'main'] }],
    blocks: [
      { id: 'g-soon', kind: 'G', expiresAt: NOW + 1_000, remaining: 5n * U },
      { id: 'g-late', kind: 'G', expiresAt: NOW + 100_000, remaining: 3n * U },
      { id: 'g-expired', kind: 'G', expiresAt: NOW - 1, remaining: 50n * U },
      { id: 'main', kind: 'M', expiresAt: null, remaining: 10n * U },
    ],
    caps: {},
    holds: [],
    ...overrides,
  };
}

const period = (version = 10n): PeriodSnapshot => ({ periodKey: '2026-11', version, token: '', expireAt: NOW + 86_400_000, counters: new Map([['tokens', 100n]]), meterQuantities: new Map(), spend: new Map() });

/** beginLoad, then load with its token (null when there was nothing to load). */
async function load(store: ReservationStore, id: string, snap = snapshot()) {
  const token = await store.beginLoad(id, null, `tok-${seq++}`);
  return token === null ? null : store.load(id, { ...snap, token });
}

async function loadPeriod(store: ReservationStore, id: string, p = period()) {
  const token = await store.beginLoad(id, p.periodKey, `tok-${seq++}`);
  return token === null ? null : store.loadPeriod(id, { ...p, token });
}

function ev(key: string, amount: bigint, extra: Partial<ReserveEvent> = {}): ReserveEvent {
  return {
    idempotencyKey: key,
    requestHash: `hash-${key}`,
    holdId: `hold-${key}`,
    expiresAt: NOW + 60_000,
    kind: 'usage',
    currency: 'USD',
    amount,
    periodKey: '2026-11',
    counters: [{ key: 'tokens', delta: 7n, from: 0n, to: null }],
    meterQuantity: null,
    settles: null,
    ...extra,
  };
}

async function ready(store: ReservationStore, id: string, snap = snapshot()) {
  await load(store, id, snap);
  await loadPeriod(store, id, period(snap.version));
}

async function one(store: ReservationStore, id: string, e: ReserveEvent) {
  const reply = await store.reserve(id, NOW, [e], false);
  if (reply.kind !== 'DONE') throw new Error(`reply ${reply.kind}`);
  return reply.results[0]!;
}

const field = async (store: ReservationStore, id: string, name: string) => (await store.inspect(id, null)).fields[name];

describe.each(stores)('reservation store contract: %s', (_name, make) => {
  it('asks for the account and then the period to be loaded', async () => {
    const store = await make();
    const id = customer();
    expect(await store.reserve(id, NOW, [ev('a', 1n)], false)).toEqual({ kind: 'LOAD' });
    expect(await load(store, id)).toBe('LOADED');
    expect(await load(store, id)).toBeNull();
    expect(await store.reserve(id, NOW, [ev('a', 1n)], false)).toEqual({ kind: 'PERIOD', periods: ['2026-11'] });
    expect(await loadPeriod(store, id)).toBe('LOADED');
    expect(await loadPeriod(store, id)).toBeNull();
    expect((await one(store, id, ev('a', 1n))).status).toBe('OK');
  });

  it('consumes grants by priority order, skips expired ones, takes MAIN last, and refuses beyond the balance', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id);
    const r = await one(store, id, ev('a', 9n * U));
    expect(r).toMatchObject({ status: 'OK', walletId: 'w1', available: 9n * U, softLimitExceeded: false });
    expect(r.status === 'OK' && r.allocations).toEqual([
      { blockId: 'g-late', amount: 3n * U },
      { blockId: 'g-soon', amount: 5n * U },
      { blockId: 'main', amount: 1n * U },
    ]);
    expect(await one(store, id, ev('b', 9n * U + 1n))).toEqual({ status: 'FUNDS', available: 9n * U });
    expect((await one(store, id, ev('c', 9n * U))).status).toBe('OK');
    expect(await field(store, id, 'bh:main')).toBe(String(10n * U));
  });

  it('lets OVERDRAFT wallets go down to their limit and SOFT wallets anywhere, flagged', async () => {
    const store = await make();
    const od = customer();
    await ready(store, od, snapshot({ wallets: [{ id: 'w1', currency: 'USD', mode: 'OVERDRAFT', overdraft: 4n * U, order: ['main'] }], blocks: [{ id: 'main', kind: 'M', expiresAt: null, remaining: 1n * U }] }));
    expect((await one(store, od, ev('a', 5n * U))).status).toBe('OK');
    expect((await one(store, od, ev('b', 1n))).status).toBe('FUNDS');
    const soft = customer();
    await ready(store, soft, snapshot({ wallets: [{ id: 'w1', currency: 'USD', mode: 'SOFT', overdraft: 0n, order: ['main'] }], blocks: [{ id: 'main', kind: 'M', expiresAt: null, remaining: 1n * U }] }));
    expect(await one(store, soft, ev('a', 1n * U))).toMatchObject({ status: 'OK', softLimitExceeded: false });
    expect(await one(store, soft, ev('b', 100n * U))).toMatchObject({ status: 'OK', softLimitExceeded: true, available: -100n * U });
  });

  it('asks for re-rating when a counter left the range the price holds for, and moves counters', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id);
    expect(await one(store, id, ev('a', 1n, { counters: [{ key: 'tokens', delta: 5n, from: 0n, to: 99n }] }))).toEqual({ status: 'RERATE', counters: new Map([['tokens', 100n]]), meterQuantity: null });
    const ok = await one(store, id, ev('a', 1n, { counters: [{ key: 'tokens', delta: 5n, from: 100n, to: 100n }], meterQuantity: { meter: 'llm', delta: 5n, from: null, to: null } }));
    expect(ok).toMatchObject({ status: 'OK', counters: new Map([['tokens', 105n]]), meterQuantity: 5n });
  });

  it('remembers idempotency keys: in flight, done, or reused with another request', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id);
    expect((await one(store, id, ev('k', U))).status).toBe('OK');
    expect(await one(store, id, ev('k', U))).toEqual({ status: 'PENDING' });
    expect(await one(store, id, { ...ev('k', U), requestHash: 'other' })).toEqual({ status: 'REUSED' });
    expect((await one(store, id, ev('other', 2n * U))).status).toBe('OK');
    const posted = await store.post(id, 11n, [{ holdId: 'hold-k', idempotencyKey: 'k', requestHash: 'hash-k', ref: 'event-1', keep: false, hold: null, allocations: [{ blockId: 'g-late', amount: U }], periodKey: '2026-11', counters: [['tokens', 7n]], meterQuantity: null, currency: 'USD', amount: U, postpaid: false, walletId: 'w1' }], NOW);
    // The wallet after the post: 5 + 2 + 10 in unexpired blocks, 2 of them still held by 'other'.
    expect(posted).toEqual({ found: 1, wallets: [{ walletId: 'w1', available: 15n * U, held: 2n * U }] });
    expect(await one(store, id, ev('k', U))).toEqual({ status: 'DUP', ref: 'event-1' });
    await store.release(id, ['hold-other'], true);
    expect(await field(store, id, 'br:g-late')).toBe(String(2n * U));
    expect(await field(store, id, 'bh:g-late')).toBe('0');
  });

  it('writes nothing from an all-or-nothing batch when one event fails', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id);
    const before = await store.inspect(id, null);
    const reply = await store.reserve(id, NOW, [ev('a', U), ev('b', 100n * U), ev('c', U)], true);
    expect(reply).toEqual({ kind: 'DONE', results: [{ status: 'SKIP' }, { status: 'FUNDS', available: 17n * U }, { status: 'SKIP' }] });
    const after = await store.inspect(id, null);
    expect(after.fields).toEqual(before.fields);
    expect(after.holds.size).toBe(0);
    expect((await one(store, id, ev('a', U))).status).toBe('OK');
  });

  it('releases holds with their counters, and forgets the in-flight key', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id);
    await one(store, id, ev('a', 4n * U));
    expect(await store.release(id, ['hold-a', 'nope'], true)).toBe(1);
    const view = await store.inspect(id, null);
    expect(view.fields['bh:g-late']).toBe('0');
    expect(view.holds.size).toBe(0);
    expect((await one(store, id, ev('a', 4n * U))).status).toBe('OK');
  });

  it('applies a commit whose hold Redis lost only when the state predates the commit, and only once', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id);
    const post = (version: bigint, ref: string) =>
      store.post(id, version, [{ holdId: `gone-${ref}`, idempotencyKey: ref, requestHash: 'h', ref, keep: false, hold: null, allocations: [{ blockId: 'main', amount: U }], periodKey: '2026-11', counters: [['tokens', 3n]], meterQuantity: null, currency: 'USD', amount: U, postpaid: false, walletId: 'w1' }], NOW);
    expect((await post(10n, 'old')).found).toBe(0);
    expect(await field(store, id, 'br:main')).toBe(String(10n * U));
    await post(11n, 'new');
    await post(11n, 'new');
    expect(await field(store, id, 'br:main')).toBe(String(9n * U));
    const counters = await one(store, id, ev('z', 0n, { counters: [{ key: 'tokens', delta: 0n, from: 0n, to: 0n }] }));
    expect(counters).toMatchObject({ status: 'RERATE', counters: new Map([['tokens', 103n]]) });
  });

  it('settles an authorization from its hold, refuses an expired one, and keeps amounts beyond 2^53 exact', async () => {
    const store = await make();
    const id = customer();
    const huge = 9_007_199_254_740_993_000n; // 9e18 units: past 2^53
    await ready(store, id, snapshot({ blocks: [...snapshot().blocks.filter((b) => b.id !== 'main'), { id: 'main', kind: 'M', expiresAt: null, remaining: huge }] }));
    expect((await one(store, id, ev('auth', 5n * U, { kind: 'authorization', counters: [], periodKey: '' }))).status).toBe('OK');
    const settled = await one(store, id, ev('use', 2n * U, { settles: 'hold-auth' }));
    expect(settled.status).toBe('OK');
    const view = await store.inspect(id, null);
    expect([...view.holds.keys()]).toEqual(['hold-use']);
    expect(view.fields['bh:g-late']).toBe(String(2n * U));
    expect(await one(store, id, ev('again', U, { settles: 'hold-auth' }))).toEqual({ status: 'HOLD_GONE' });
    await one(store, id, ev('short', U, { kind: 'authorization', counters: [], periodKey: '', expiresAt: NOW - 1 }));
    expect(await one(store, id, ev('late', U, { settles: 'hold-short' }))).toEqual({ status: 'HOLD_GONE' });
    expect((await store.inspect(id, NOW)).expired).toEqual(['hold-short']);
    const big = await one(store, id, ev('big', huge - U));
    expect(big).toMatchObject({ status: 'OK' });
    expect(big.status === 'OK' && big.available).toBe(huge + 8n * U - 2n * U - U - (huge - U) - 0n);
  });

  it('holds postpaid spend against a cap per period', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id, snapshot({ wallets: [], blocks: [], caps: { USD: 10n * U } }));
    expect(await one(store, id, ev('a', 6n * U))).toMatchObject({ status: 'OK', walletId: null, available: null });
    expect(await one(store, id, ev('b', 5n * U))).toEqual({ status: 'CAP', spent: 6n * U, cap: 10n * U });
    await store.sync(id, { version: null, wallets: [], blocks: [], deltas: [], caps: { USD: null } });
    expect((await one(store, id, ev('b', 5n * U))).status).toBe('OK');
  });

  it('syncs settings always and deltas only for commits newer than the load', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id);
    expect(await store.sync(id, { version: 10n, wallets: [], blocks: [], deltas: [{ blockId: 'main', amount: U }], caps: {} })).toBe(true);
    expect(await field(store, id, 'br:main')).toBe(String(10n * U));
    const grant = { version: 12n, wallets: [{ id: 'w1', currency: 'USD', mode: 'SOFT' as const, overdraft: 0n, order: ['g-new', 'main'] }], blocks: [{ id: 'g-new', kind: 'G' as const, expiresAt: null }], deltas: [{ blockId: 'g-new', amount: 2n * U }], caps: {} };
    await store.sync(id, grant);
    await store.sync(id, grant); // a retried sync counts once
    const view = await store.inspect(id, null);
    expect(view.fields).toMatchObject({ 'br:g-new': String(2n * U), 'wm:w1': 'SOFT', 'wbl:w1': 'g-new,main' });
    expect(await store.sync(customer(), { version: 1n, wallets: [], blocks: [], deltas: [], caps: {} })).toBe(false);
  });

  it('does not trust period counters that outlived a lost state', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id);
    await store.drop(id);
    await load(store, id);
    expect(await store.reserve(id, NOW, [ev('a', U)], false)).toEqual({ kind: 'PERIOD', periods: ['2026-11'] });
    expect(await loadPeriod(store, id)).toBe('LOADED');
    expect((await one(store, id, ev('a', U))).status).toBe('OK');
    await expect(store.loadPeriod(customer(), { ...period(), token: 'x' })).rejects.toThrow(StateNotLoaded);
  });

  it('forgets a customer on drop', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id);
    await one(store, id, ev('a', U));
    expect(await store.holders()).toContain(id);
    await store.drop(id);
    expect(await store.reserve(id, NOW, [ev('a', U)], false)).toEqual({ kind: 'LOAD' });
  });

  it('lists the periods it loaded, with their counters, until dropped', async () => {
    const store = await make();
    const id = customer();
    await ready(store, id);
    await one(store, id, ev('a', U));
    expect((await store.periods(id)).get('2026-11')).toMatchObject({ loaded: '1', 'c:tokens': '107', pv: '10' });
    await store.drop(id);
    expect([...(await store.periods(id)).values()].filter((fields) => fields.loaded === '1')).toEqual([]);
  });

  describe('a load never installs a snapshot older than what the store skipped', () => {
    const post = (key: string, periodKey = '2026-11'): PostItem => ({
      holdId: `hold-${key}`, idempotencyKey: key, requestHash: `hash-${key}`, ref: `event-${key}`, keep: false, hold: null,
      allocations: [{ blockId: 'main', amount: U }], periodKey, counters: [['tokens', 7n]], meterQuantity: null, currency: 'USD', amount: U, postpaid: false, walletId: 'w1',
    });

    it('refuses a snapshot read before a commit posted while the state was missing, and takes a newer one', async () => {
      const store = await make();
      const id = customer();
      const token = (await store.beginLoad(id, null, 'first'))!;
      // A commit at version 11 is posted while nothing is loaded: the store cannot apply it.
      await store.post(id, 11n, [post('late')], NOW);
      expect(await store.load(id, { ...snapshot({ version: 10n }), token })).toBe('STALE');
      expect(await load(store, id, snapshot({ version: 11n }))).toBe('LOADED');
    });

    it('refuses a load whose start the store lost (a flush between the snapshot and the load)', async () => {
      const store = await make();
      const id = customer();
      const token = (await store.beginLoad(id, null, 'first'))!;
      await store.drop(id);
      expect(await store.load(id, { ...snapshot(), token })).toBe('STALE');
    });

    it('refuses a snapshot read before a settings change (a spending cap) made while loading', async () => {
      const store = await make();
      const id = customer();
      const token = (await store.beginLoad(id, null, 'first'))!;
      expect(await store.sync(id, { version: null, wallets: [], blocks: [], deltas: [], caps: { USD: 5n * U } })).toBe(false);
      expect(await store.load(id, { ...snapshot(), token })).toBe('STALE');
    });

    it('lets two loaders share one start: the first installs, the second finds it loaded', async () => {
      const store = await make();
      const id = customer();
      const a = await store.beginLoad(id, null, 'a');
      const b = await store.beginLoad(id, null, 'b');
      expect(b).toBe(a);
      expect(await store.load(id, { ...snapshot(), token: a! })).toBe('LOADED');
      expect(await store.load(id, { ...snapshot(), token: b! })).toBe('ALREADY');
    });

    it('fences a period the same way', async () => {
      const store = await make();
      const id = customer();
      await load(store, id);
      const token = (await store.beginLoad(id, '2026-11', 'p'))!;
      await store.post(id, 12n, [post('late')], NOW);
      expect(await store.loadPeriod(id, { ...period(10n), token })).toBe('STALE');
      expect(await loadPeriod(store, id, period(12n))).toBe('LOADED');
    });
  });
});

/** What the scripts would see if keys changed between the store's read and its script. */
describe.each([
  ['redis', false],
  ['redis cluster', true],
] as const)('keys known only at run time, on %s', (_name, cluster) => {
  const scripts = (store: RedisReservationStore) => (store as unknown as { call: Record<string, (keys: string[], json: string) => Promise<unknown>> }).call;
  const declared = (store: RedisReservationStore, id: string, keys: string[]) => keys.map((k) => store.keyOf(id) + k);

  it('drop deletes nothing when a period was loaded after it read the list, then everything', async () => {
    const store = await redisStore(cluster);
    const id = customer();
    await ready(store, id);
    // As if ps had been read before 2026-11 was loaded.
    expect(JSON.parse((await scripts(store).drop!(declared(store, id, scriptKeys.drop([])), '{}')) as string)).toEqual(['2026-11']);
    expect((await store.inspect(id, null)).loaded).toBe(true);
    expect((await store.periods(id)).has('2026-11')).toBe(true);
    await store.drop(id);
    expect(await store.periods(id)).toEqual(new Map());
    expect((await store.inspect(id, null)).loaded).toBe(false);
  });

  it('release changes nothing when a hold appeared after it read the holds, then releases it', async () => {
    const store = await redisStore(cluster);
    const id = customer();
    await ready(store, id);
    await one(store, id, ev('a', 4n * U));
    // As if the hold had been read before it was stored: its idempotency key and period undeclared.
    const reply = await scripts(store).release!(declared(store, id, scriptKeys.release([])), JSON.stringify({ holds: ['hold-a'], forget: true }));
    expect(JSON.parse(reply as string)).toEqual([['a', '2026-11']]);
    expect((await store.inspect(id, null)).holds.has('hold-a')).toBe(true);
    expect(await store.release(id, ['hold-a'], true)).toBe(1);
    const view = await store.inspect(id, null);
    expect(view.holds.size).toBe(0);
    expect(view.fields['bh:g-late']).toBe('0');
    expect((await store.periods(id)).get('2026-11')?.['c:tokens']).toBe('100');
    expect((await one(store, id, ev('a', U))).status).toBe('OK');
  });

  it('refuses, before writing, a key a script was not given', async () => {
    const store = await redisStore(cluster);
    const id = customer();
    await ready(store, id);
    const json = JSON.stringify({ now: String(NOW), atomic: false, ev: [{ k: 'x', hs: 'h', h: 'hold-x', exp: String(NOW + 60_000), t: 'u', cur: 'USD', amt: '1', per: '2026-11', c: [], mq: null }] });
    await expect(scripts(store).reserve!(declared(store, id, scriptKeys.reserve([])), json)).rejects.toThrow(/key not declared in KEYS: i:x/);
    expect((await store.inspect(id, null)).holds.size).toBe(0);
  });
});
