import { readFileSync } from 'node:fs';
import { Cluster, type Command, Redis, type RedisOptions } from 'ioredis';
import { serviceUnavailable } from '../../shared/errors.js';
import {
  IDEMPOTENCY_MEMORY_MS,
  type AccountSnapshot,
  type AccountView,
  type HoldRecord,
  type LoadOutcome,
  type PeriodSnapshot,
  type PostItem,
  type PostResult,
  type ReservationStore,
  type ReserveEvent,
  type ReserveReply,
  StateNotLoaded,
  type SyncChange,
} from './reservation.store.js';
import { decodeHold, decodePost, decodeReserve, encodeLoad, encodeLoadPeriod, encodePost, encodeReserve, encodeSync, scriptKeys } from './store-codec.pure.js';

/** One Redis or a Redis Cluster: the store, the live bus and the rate limits take either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: one server (REDIS_URL) or the seed nodes of a cluster (REDIS_CLUSTER_NODES). */
export type RedisTarget = { url: string } | { clusterNodes: string[] };

/** The configured Redis, or null for the in-process store. */
export function redisTargetOf(config: { redisUrl?: string; redisClusterNodes?: string[] }): RedisTarget | null {
  if (config.redisClusterNodes?.length) return { clusterNodes: config.redisClusterNodes };
  return config.redisUrl ? { url: config.redisUrl } : null;
}

/** Every command fails within 2 s (redirections and retries included) rather than waiting. */
const FAIL_FAST = { connectTimeout: 2_000, commandTimeout: 2_000, maxRetriesPerRequest: 1 } satisfies RedisOptions;

/** Client options that make Redis failures fast and visible instead of queued and slow. */
export function createRedisClient(url: string): Redis;
export function createRedisClient(target: RedisTarget): RedisClient;
export function createRedisClient(target: string | RedisTarget): RedisClient {
  const to = typeof target === 'string' ? { url: target } : target;
  if ('clusterNodes' in to) return createClusterClient(to.clusterNodes);
  return new Redis(to.url, {
    lazyConnect: true,
    ...FAIL_FAST,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
}

/** A seed node: `host:port`, or a redis:// or rediss:// URL whose credentials and TLS every node shares. */
function seedOf(entry: string): { host: string; port: number; username: string; password: string; tls: boolean } {
  const url = new URL(entry.includes('://') ? entry : `redis://${entry}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(url.port || 6379), username: decodeURIComponent(url.username), password: decodeURIComponent(url.password), tls: url.protocol === 'rediss:' };
}

/**
 * A cluster client whose every command fails after the command timeout, however it is redirected
 * or retried. ioredis starts a command's timer only when a node sends it, so a command retried
 * while its node reconnects (every 100 ms, up to maxRedirections times) would otherwise wait
 * far longer than 2 s.
 */
class FailFastCluster extends Cluster {
  override sendCommand(command: Command, ...rest: unknown[]): unknown {
    command.setTimeout(FAIL_FAST.commandTimeout);
    return (super.sendCommand as (command: Command, ...rest: unknown[]) => unknown)(command, ...rest);
  }
}

function createClusterClient(entries: string[]): Cluster {
  const seeds = entries.map(seedOf);
  const auth = seeds.find((seed) => seed.username || seed.password || seed.tls);
  return new FailFastCluster(
    seeds.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      // Auto-pipelining sends the calls for every slot a node serves as one pipeline, and ioredis
      // retries a pipeline after MOVED, ASK or TRYAGAIN only when all of it failed alike: one
      // customer's slot moving would fail other customers' calls. Alone, each call is redirected
      // and retried by itself.
      enableAutoPipelining: false,
      // A slot moving to another master: MOVED once it has moved (followed at once, and the slot
      // map refreshed), ASK while its keys move, and TRYAGAIN for a script until the slot has
      // moved (lua/prelude.lua), retried every 25 ms. The 2 s command timeout bounds it all
      // (FailFastCluster); the redirection limit only stops nodes that disagree from sending a
      // command back and forth for that long.
      maxRedirections: 256,
      retryDelayOnMoved: 0,
      retryDelayOnTryAgain: 25,
      retryDelayOnClusterDown: 100,
      retryDelayOnFailover: 100,
      slotsRefreshTimeout: 2_000,
      slotsRefreshInterval: 5_000,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
      redisOptions: {
        ...FAIL_FAST,
        ...(auth?.username ? { username: auth.username } : {}),
        ...(auth?.password ? { password: auth.password } : {}),
        ...(auth?.tls ? { tls: {} } : {}),
      },
    },
  );
}

const SCRIPTS = ['reserve', 'post', 'release', 'sync', 'begin-load', 'load', 'load-period', 'inspect', 'drop'] as const;
type ScriptName = (typeof SCRIPTS)[number];

/** Each script is the shared prelude followed by its body; ioredis runs it by SHA (EVALSHA). */
function scriptSource(name: ScriptName): string {
  const read = (file: string) => readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');
  return `${read('prelude')}\n${read(name)}`;
}

type ScriptCaller = (keys: string[], json: string) => Promise<unknown>;

/**
 * The Redis reservation store: the one owner of the Lua scripts. All of a customer's keys share
 * the hash tag {c:<id>} and every script declares the keys it touches (lua/prelude.lua), so it
 * runs on one Redis and on a Redis Cluster alike; the set of customers with holds is a separate
 * key (another slot) for the sweep, reached by plain commands.
 */
export class RedisReservationStore implements ReservationStore {
  readonly kind = 'redis' as const;
  private readonly call: Record<ScriptName, ScriptCaller>;

  constructor(
    readonly redis: RedisClient,
    readonly prefix: string,
  ) {
    const call = {} as Record<ScriptName, ScriptCaller>;
    const commands = redis as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>;
    for (const name of SCRIPTS) {
      const command = `billing_${name.replace('-', '_')}`;
      // No numberOfKeys: each call declares its own keys, their count first.
      redis.defineCommand(command, { lua: scriptSource(name) });
      call[name] = (keys, json) => commands[command]!(keys.length, ...keys, json);
    }
    this.call = call;
  }

  /** The key prefix of one customer: every key after it hashes to the same slot. */
  keyOf(customerId: string): string {
    return `${this.prefix}{c:${customerId}}:`;
  }

  /** Runs a script on a customer's keys, given as suffixes of its prefix (scriptKeys). */
  private async run(name: ScriptName, customerId: string, keys: string[], json: string): Promise<unknown> {
    const prefix = this.keyOf(customerId);
    try {
      return await this.call[name](keys.map((k) => prefix + k), json);
    } catch (err) {
      throw unavailable(err);
    }
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  async reserve(customerId: string, now: number, events: ReserveEvent[], atomic: boolean): Promise<ReserveReply> {
    if (events.some((e) => e.expiresAt > now)) await this.guard(() => this.redis.sadd(`${this.prefix}holders`, customerId));
    return decodeReserve((await this.run('reserve', customerId, scriptKeys.reserve(events), encodeReserve(now, events, atomic))) as string);
  }

  async post(customerId: string, version: bigint, items: PostItem[], now: number): Promise<PostResult> {
    return decodePost((await this.run('post', customerId, scriptKeys.post(items), encodePost(version, items, IDEMPOTENCY_MEMORY_MS, now))) as string);
  }

  /**
   * The script releases holds by id, and needs the keys each one's record names (its idempotency
   * key and period), so they are read first. A hold stored between that read and the script
   * (a load) may name keys not declared: the script then changes nothing and says which, and
   * runs again with them. A hold id's record never changes, so once is enough.
   */
  async release(customerId: string, holdIds: string[], forget: boolean): Promise<number> {
    const json = JSON.stringify({ holds: holdIds, forget });
    let holds = await this.storedHolds(customerId, holdIds);
    for (let attempt = 0; attempt < 3; attempt++) {
      const reply = await this.run('release', customerId, scriptKeys.release(holds), json);
      if (typeof reply === 'number') return reply;
      holds = [...holds, ...(JSON.parse(reply as string) as Array<[string, string]>).map(([k, per]) => ({ k, per }))];
    }
    throw new Error('release: the holds kept naming undeclared keys');
  }

  /** The idempotency key and period of each hold found. */
  private async storedHolds(customerId: string, holdIds: string[]): Promise<Array<{ k: string; per: string }>> {
    if (holdIds.length === 0) return [];
    const raw = await this.guard(() => this.redis.hmget(`${this.keyOf(customerId)}h`, ...holdIds));
    return raw.flatMap((r) => (r === null ? [] : [decodeHold(JSON.parse(r))]));
  }

  async sync(customerId: string, change: SyncChange): Promise<boolean> {
    return Number(await this.run('sync', customerId, scriptKeys.sync(change), encodeSync(change))) === 1;
  }

  async beginLoad(customerId: string, periodKey: string | null, token: string): Promise<string | null> {
    const current = (await this.run('begin-load', customerId, scriptKeys.period(periodKey), JSON.stringify({ per: periodKey ?? '', tok: token }))) as string;
    return current === '' ? null : current;
  }

  async load(customerId: string, snapshot: AccountSnapshot): Promise<LoadOutcome> {
    const result = Number(await this.run('load', customerId, scriptKeys.state(), encodeLoad(snapshot)));
    return result === 1 ? 'LOADED' : result === 0 ? 'ALREADY' : 'STALE';
  }

  async loadPeriod(customerId: string, snapshot: PeriodSnapshot): Promise<LoadOutcome> {
    const result = Number(await this.run('load-period', customerId, scriptKeys.period(snapshot.periodKey), encodeLoadPeriod(snapshot)));
    if (result === -1) throw new StateNotLoaded();
    return result === 1 ? 'LOADED' : result === 0 ? 'ALREADY' : 'STALE';
  }

  async inspect(customerId: string, expiredBefore: number | null): Promise<AccountView> {
    const raw = JSON.parse((await this.run('inspect', customerId, scriptKeys.state(), JSON.stringify({ expiredBefore: expiredBefore === null ? '' : String(expiredBefore) }))) as string) as {
      loaded: boolean;
      fields: Record<string, string> | unknown[];
      holds: Record<string, HoldRecord> | unknown[];
      expired: string[] | Record<string, never>;
    };
    const fields = Array.isArray(raw.fields) ? {} : raw.fields;
    return {
      loaded: raw.loaded,
      version: BigInt(fields.rv ?? '0'),
      fields,
      holds: new Map(Array.isArray(raw.holds) ? [] : Object.entries(raw.holds).map(([id, h]) => [id, decodeHold(h)])),
      expired: Array.isArray(raw.expired) ? raw.expired : [],
    };
  }

  /** The periods the state loaded, by name (its ps set): no SCAN, which a cluster cannot do by tag. */
  async periods(customerId: string): Promise<Map<string, Record<string, string>>> {
    return this.guard(async () => {
      const p = this.keyOf(customerId);
      const periods = await this.redis.smembers(`${p}ps`);
      const hashes = await Promise.all(periods.map((per) => this.redis.hgetall(`${p}p:${per}`)));
      // ps keeps a period whose hash has expired since: no hash, no period.
      return new Map(periods.map((per, i) => [per, hashes[i]!] as const).filter(([, fields]) => Object.keys(fields).length > 0));
    });
  }

  /**
   * Atomic (one script): a half-dropped state would be worse than either. The script must
   * declare the period hashes it deletes, so ps is read first; a period loaded between that read
   * and the script is caught by the script, which then deletes nothing and returns the periods
   * now listed, to run again with them. The state is never half dropped, and a period loaded
   * meanwhile is not left behind.
   */
  async drop(customerId: string): Promise<void> {
    let periods = await this.guard(() => this.redis.smembers(`${this.keyOf(customerId)}ps`));
    for (let attempt = 0; attempt < 5; attempt++) {
      const reply = await this.run('drop', customerId, scriptKeys.drop(periods), '{}');
      if (typeof reply === 'number') return;
      periods = JSON.parse(reply as string) as string[];
    }
    throw new Error('drop: periods kept being loaded');
  }

  async holders(): Promise<string[]> {
    return this.guard(() => this.redis.smembers(`${this.prefix}holders`));
  }

  async forgetHolder(customerId: string): Promise<void> {
    await this.guard(() => this.redis.srem(`${this.prefix}holders`, customerId));
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw unavailable(err);
    }
  }
}

/** Connection trouble becomes SERVICE_UNAVAILABLE; a script error (a bug) stays an error. */
function unavailable(err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (/ERR .*script|user_script|Error running script/i.test(message)) return err;
  return serviceUnavailable('the reservation store');
}
