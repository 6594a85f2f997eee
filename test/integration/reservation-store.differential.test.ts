import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { createRedisClient, type RedisClient } from '../../src/modules/reservations/redis.store.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { clusterClient } from '../support/redis-cluster.js';
import {
  ALL_BLOCKS,
  BLOCKS,
  COUNTERS,
  CURRENCIES,
  CUSTOMERS,
  GENERATIONS,
  HASHES,
  HOLDS,
  KEYS,
  MAX_VERSION,
  METERS,
  PERIODS,
  REFS,
  StoreDifferential,
  TOKENS,
  U,
  WALLET_CURRENCIES,
  type EventSpec,
  type HoldRef,
  type HoldSpec,
  type Op,
  type PeriodSpec,
  type PostSpec,
  type SnapshotSpec,
  type SyncSpec,
  type WalletSpec,
} from '../support/store-model.js';
import { deleteRedisKeys } from '../support/test-app.js';

/*
 * Differential, model-based test of the two reservation stores: random sequences of loads,
 * reserves, posts, releases, syncs, sweeps, drops and flushes run against Redis (the Lua scripts,
 * the reference) and against the in-process twin; every call must give the same answer and both
 * states must read back the same after every step (test/support/store-model.ts).
 *
 *   RESERVATION_DIFF_RUNS=5000 npx vitest run test/integration/reservation-store.differential.test.ts
 *
 * The same sequences run against a Redis Cluster, fewer of them (RESERVATION_DIFF_CLUSTER_RUNS):
 * the scripts are the same, what differs is how their keys reach the cluster.
 *
 * A failure prints the shrunk sequence and `{ seed, path }`; replay exactly that case with
 *   RESERVATION_DIFF_SEED=<seed> RESERVATION_DIFF_PATH=<path> npx vitest run <this file>
 */

const RUNS = Number(process.env.RESERVATION_DIFF_RUNS ?? 1000);
const CLUSTER_RUNS = Number(process.env.RESERVATION_DIFF_CLUSTER_RUNS ?? 200);
const MAX_STEPS = Number(process.env.RESERVATION_DIFF_STEPS ?? 20);
const SEED = process.env.RESERVATION_DIFF_SEED === undefined ? undefined : Number(process.env.RESERVATION_DIFF_SEED);
const PATH = process.env.RESERVATION_DIFF_PATH;

// Amounts: halves of a unit (so balances run out exactly), any value, and values past 2^53
// (Lua's doubles would lose them; the scripts' two-limb integers must not).
const amount = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 24 }).map((k) => (BigInt(k) * U) / 2n) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 15n * U }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n, max: 2n ** 53n + 4n * U }) },
);
const balance = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 20 }).map((k) => (BigInt(k) * U) / 2n) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 60n, max: 2n ** 61n }) },
);
const small = fc.bigInt({ min: 0n, max: 12n });
const version = fc.bigInt({ min: 0n, max: BigInt(MAX_VERSION) });
const cust = fc.constantFrom(...CUSTOMERS).chain((c) => (c === 'c1' ? fc.constant(c) : fc.constantFrom(...CUSTOMERS)));
const cur = fc.constantFrom(...CURRENCIES);
const period = fc.constantFrom('', ...PERIODS);
const mode = fc.constantFrom('HARD' as const, 'SOFT' as const, 'OVERDRAFT' as const);
/** Expiries relative to the step's now: mostly ahead, sometimes at or just past it. */
const expiresIn = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1_000, max: 2 * 3600_000 }) }, { weight: 1, arbitrary: fc.integer({ min: -2_000, max: 2_000 }) });
const blockExpiry = fc.option(expiresIn, { freq: 2 });
const holdRef: fc.Arbitrary<HoldRef> = fc.oneof(fc.nat(5).map((nth) => ({ nth })), fc.constantFrom(...HOLDS).map((id) => ({ id })));
const allocs = fc.array(fc.tuple(fc.constantFrom(...ALL_BLOCKS), amount), { maxLength: 2 });
const counterPairs = fc.array(fc.tuple(fc.constantFrom(...COUNTERS), fc.bigInt({ min: -1n, max: 5n })), { maxLength: 2 });
const meterPair = fc.option(fc.tuple(fc.constantFrom(...METERS), fc.bigInt({ min: 0n, max: 5n })), { nil: null });

const wallet: fc.Arbitrary<WalletSpec> = fc.record({
  mode,
  overdraft: fc.oneof(fc.constant(0n), balance),
  main: fc.option(fc.record({ remaining: balance, expiresIn: fc.option(expiresIn, { freq: 6 }) }), { freq: 6, nil: null }),
  grants: fc.array(fc.record({ priority: fc.integer({ min: 0, max: 2 }), expiresIn: blockExpiry, remaining: balance }), { maxLength: 3 }),
});

const holdSpec: fc.Arbitrary<HoldSpec> = fc.record({
  id: fc.constantFrom(...HOLDS),
  t: fc.constantFrom('u' as const, 'r' as const),
  k: fc.constantFrom(...KEYS),
  hs: fc.constantFrom(...HASHES),
  cur,
  amt: amount,
  allocs,
  expIn: expiresIn,
  per: period,
  c: counterPairs,
  mq: meterPair,
  partlyHeld: fc.boolean(),
});

const snapshot: fc.Arbitrary<SnapshotSpec> = fc.record({
  version,
  generation: fc.constantFrom(...GENERATIONS),
  wallets: fc.record({ USD: fc.option(wallet, { freq: 5, nil: null }), EUR: fc.option(wallet, { freq: 2, nil: null }) }),
  caps: fc.array(fc.tuple(cur, balance), { maxLength: 2 }),
  holds: fc.array(holdSpec, { maxLength: 3 }),
});

const periodSpec: fc.Arbitrary<PeriodSpec> = fc.record({
  key: fc.constantFrom(...PERIODS),
  version,
  counters: fc.array(fc.tuple(fc.constantFrom(...COUNTERS), small), { maxLength: 2 }),
  meters: fc.array(fc.tuple(fc.constantFrom(...METERS), small), { maxLength: 2 }),
  spend: fc.array(fc.tuple(cur, balance), { maxLength: 2 }),
  expired: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});

/** A counter check: open-ended (always passes) or a range around the small values counters take. */
const counterCheck = fc.record({
  key: fc.constantFrom(...COUNTERS),
  delta: fc.bigInt({ min: -1n, max: 5n }),
  range: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.tuple(fc.bigInt({ min: 0n, max: 15n }), fc.option(fc.bigInt({ min: 0n, max: 8n }), { nil: null })) }),
}).map(({ key, delta, range }) => ({ key, delta, from: range ? range[0] : -(10n ** 18n), to: range && range[1] !== null ? range[0] + range[1] : null }));

const meterCheck = fc.option(
  fc.record({
    meter: fc.constantFrom(...METERS),
    delta: fc.bigInt({ min: 0n, max: 5n }),
    from: fc.option(fc.bigInt({ min: 0n, max: 12n }), { nil: null }),
    to: fc.option(fc.bigInt({ min: 0n, max: 20n }), { nil: null }),
  }),
  { nil: null },
);

const event: fc.Arbitrary<EventSpec> = fc.record({
  key: fc.constantFrom(...KEYS),
  hash: fc.constantFrom(...HASHES),
  hold: fc.constantFrom(...HOLDS),
  expIn: expiresIn,
  kind: fc.constantFrom('usage' as const, 'usage' as const, 'authorization' as const),
  cur: fc.constantFrom('USD', 'USD', 'EUR', 'GBP') as fc.Arbitrary<EventSpec['cur']>,
  amount,
  per: fc.constantFrom(PERIODS[0], PERIODS[0], PERIODS[1], ''),
  counters: fc.array(counterCheck, { maxLength: 2 }),
  meter: meterCheck,
  settles: fc.option(fc.oneof(holdRef, fc.constant({ id: '' })), { freq: 3, nil: null }),
});

const postSpec: fc.Arbitrary<PostSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ from: fc.constant('hold' as const), nth: fc.nat(5), keep: fc.boolean(), ref: fc.constantFrom(...REFS) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      from: fc.constant('args' as const),
      hold: fc.constantFrom(...HOLDS),
      key: fc.constantFrom(...KEYS),
      hash: fc.constantFrom(...HASHES),
      ref: fc.constantFrom(...REFS),
      keep: fc.boolean(),
      allocs,
      per: period,
      counters: counterPairs,
      meter: meterPair,
      cur,
      amount,
      record: holdSpec,
    }),
  },
);

const syncSpec: fc.Arbitrary<SyncSpec> = fc.record({
  version: fc.option(version, { freq: 4, nil: null }),
  wallets: fc.array(
    fc.constantFrom(...WALLET_CURRENCIES).chain((c) => fc.record({ cur: fc.constant(c), mode, overdraft: fc.oneof(fc.constant(0n), balance), order: fc.shuffledSubarray([...BLOCKS[c]]) })),
    { maxLength: 1 },
  ),
  blocks: fc.array(fc.record({ id: fc.constantFrom(...ALL_BLOCKS), expiresIn: blockExpiry }), { maxLength: 2 }),
  deltas: fc.array(fc.tuple(fc.constantFrom(...ALL_BLOCKS), fc.bigInt({ min: -5n * U, max: 10n * U })), { maxLength: 2 }),
  caps: fc.array(fc.tuple(cur, fc.option(balance, { nil: null })), { maxLength: 1 }),
});

const capChange: fc.Arbitrary<SyncSpec> = fc.tuple(cur, fc.option(balance, { nil: null })).map((cap) => ({ version: null, wallets: [], blocks: [], deltas: [], caps: [cap] }));

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('load' as const), c: cust, snap: snapshot }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('loadPeriod' as const), c: cust, per: periodSpec }) },
  { weight: 30, arbitrary: fc.record({ op: fc.constant('reserve' as const), c: cust, atomic: fc.boolean(), events: fc.array(event, { minLength: 1, maxLength: 4 }) }) },
  { weight: 12, arbitrary: fc.record({ op: fc.constant('post' as const), c: cust, version, items: fc.array(postSpec, { minLength: 1, maxLength: 3 }) }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('release' as const), c: cust, holds: fc.array(holdRef, { minLength: 1, maxLength: 3 }), forget: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('sync' as const), c: cust, change: syncSpec }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('sync' as const), c: cust, change: capChange }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('advance' as const), by: fc.integer({ min: 1, max: 30 * 60_000 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('advanceTo' as const), target: fc.constantFrom('hold' as const, 'block' as const), nth: fc.nat(4), delta: fc.constantFrom(-1 as const, 0 as const, 1 as const) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('sweep' as const), c: cust, version, committed: fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('beginLoad' as const), c: cust, per: fc.constantFrom(null, ...PERIODS), tok: fc.constantFrom(...TOKENS) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('loadWithToken' as const), c: cust, snap: snapshot, tok: fc.constantFrom(...TOKENS) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('loadPeriodWithToken' as const), c: cust, per: periodSpec, tok: fc.constantFrom(...TOKENS) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('forgetHolder' as const), c: cust }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('drop' as const), c: cust }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
);

/** Most sequences start with c1 loaded (state and a period), so that the rest has something to work on. */
const sequence: fc.Arbitrary<Op[]> = fc
  .tuple(
    fc.option(snapshot.map((snap): Op => ({ op: 'load', c: 'c1', snap })), { freq: 8, nil: null }),
    fc.option(periodSpec.map((per): Op => ({ op: 'loadPeriod', c: 'c1', per: { ...per, key: PERIODS[0], expired: false } })), { freq: 8, nil: null }),
    fc.array(op, { maxLength: MAX_STEPS - 2 }),
  )
  .map(([load, per, rest]) => [...(load ? [load] : []), ...(per ? [per] : []), ...rest]);

describe.each([
  ['one Redis', false, RUNS],
  ['a Redis Cluster', true, CLUSTER_RUNS],
] as const)('reservation stores on %s: the in-process twin behaves as the Lua scripts', (_name, cluster, runCount) => {
  const prefix = `test:diff:${randomBytes(4).toString('hex')}:`;
  let redis: RedisClient;

  beforeAll(async () => {
    redis = cluster ? await clusterClient() : createRedisClient(TEST_REDIS_URL);
    if (!cluster) await redis.connect();
  });

  afterAll(async () => {
    redis?.disconnect();
    await deleteRedisKeys(prefix, cluster ? inject('redisClusterNodes') : undefined);
  });

  it(
    `gives the same answers and the same state over ${runCount} random sequences of up to ${MAX_STEPS} steps`,
    async () => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(sequence, async (ops) => {
          const diff = new StoreDifferential(redis, `${prefix}${runs++}:`);
          try {
            await diff.run(ops);
          } finally {
            await diff.cleanup();
          }
        }),
        { numRuns: runCount, ...(SEED === undefined ? {} : { seed: SEED }), ...(PATH ? { path: PATH, endOnFailure: true } : {}) },
      );
    },
    Math.max(120_000, runCount * 200),
  );
});
