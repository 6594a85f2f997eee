import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
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
import { decodeHold, decodePost, decodeReserve, encodeLoad, encodeLoadPeriod, encodePost, encodeReserve, encodeSync } from './store-codec.pure.js';

/** Client options that make Redis failures fast and visible instead of queued and slow. */
export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
}

const SCRIPTS = ['reserve', 'post', 'release', 'sync', 'begin-load', 'load', 'load-period', 'inspect', 'drop'] as const;
type ScriptName = (typeof SCRIPTS)[number];

/** Each script is the shared prelude followed by its body; ioredis runs it by SHA (EVALSHA). */
function scriptSource(name: ScriptName): string {
  const read = (file: string) => readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');
  return `${read('prelude')}\n${read(name)}`;
}

type ScriptCaller = (prefix: string, json: string) => Promise<unknown>;

/**
 * The Redis reservation store: the one owner of the Lua scripts. All of a customer's keys share
 * the hash tag {c:<id>}; the set of customers with holds is a separate key for the sweep.
 */
export class RedisReservationStore implements ReservationStore {
  readonly kind = 'redis' as const;
  private readonly call: Record<ScriptName, ScriptCaller>;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {
    const call = {} as Record<ScriptName, ScriptCaller>;
    for (const name of SCRIPTS) {
      const command = `billing_${name.replace('-', '_')}`;
      redis.defineCommand(command, { numberOfKeys: 0, lua: scriptSource(name) });
      call[name] = (p, json) => (redis as unknown as Record<string, (a: string, b: string) => Promise<unknown>>)[command]!(p, json);
    }
    this.call = call;
  }

  /** The key prefix of one customer: every key after it hashes to the same slot. */
  keyOf(customerId: string): string {
    return `${this.prefix}{c:${customerId}}:`;
  }

  private async run(name: ScriptName, customerId: string, json: string): Promise<unknown> {
    try {
      return await this.call[name](this.keyOf(customerId), json);
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
    return decodeReserve((await this.run('reserve', customerId, encodeReserve(now, events, atomic))) as string);
  }

  async post(customerId: string, version: bigint, items: PostItem[], now: number): Promise<PostResult> {
    return decodePost((await this.run('post', customerId, encodePost(version, items, IDEMPOTENCY_MEMORY_MS, now))) as string);
  }

  async release(customerId: string, holdIds: string[], forget: boolean): Promise<number> {
    return Number(await this.run('release', customerId, JSON.stringify({ holds: holdIds, forget })));
  }

  async sync(customerId: string, change: SyncChange): Promise<boolean> {
    return Number(await this.run('sync', customerId, encodeSync(change))) === 1;
  }

  async beginLoad(customerId: string, periodKey: string | null, token: string): Promise<string | null> {
    const current = (await this.run('begin-load', customerId, JSON.stringify({ per: periodKey ?? '', tok: token }))) as string;
    return current === '' ? null : current;
  }

  async load(customerId: string, snapshot: AccountSnapshot): Promise<LoadOutcome> {
    const result = Number(await this.run('load', customerId, encodeLoad(snapshot)));
    return result === 1 ? 'LOADED' : result === 0 ? 'ALREADY' : 'STALE';
  }

  async loadPeriod(customerId: string, snapshot: PeriodSnapshot): Promise<LoadOutcome> {
    const result = Number(await this.run('load-period', customerId, encodeLoadPeriod(snapshot)));
    if (result === -1) throw new StateNotLoaded();
    return result === 1 ? 'LOADED' : result === 0 ? 'ALREADY' : 'STALE';
  }

  async inspect(customerId: string, expiredBefore: number | null): Promise<AccountView> {
    const raw = JSON.parse((await this.run('inspect', customerId, JSON.stringify({ expiredBefore: expiredBefore === null ? '' : String(expiredBefore) }))) as string) as {
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

  /** Every key of a customer (SCAN within its hash tag). */
  private async keysOf(customerId: string, suffix = '*'): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${this.keyOf(customerId).replace(/[{}[\]*?\\]/g, '\\$&')}${suffix}`, 'COUNT', 500);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  async periods(customerId: string): Promise<Map<string, Record<string, string>>> {
    return this.guard(async () => {
      const out = new Map<string, Record<string, string>>();
      const base = `${this.keyOf(customerId)}p:`;
      for (const key of await this.keysOf(customerId, 'p:*')) out.set(key.slice(base.length), await this.redis.hgetall(key));
      return out;
    });
  }

  /** Atomic (one script): a half-dropped state would be worse than either. */
  async drop(customerId: string): Promise<void> {
    await this.run('drop', customerId, '{}');
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
