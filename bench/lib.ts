/**
 * Shared by the benchmarks: a fresh database, the real server in a child process, a small
 * GraphQL client, and wrk for load (Debian package `wrk`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';

export const BASE_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A Redis Cluster to run on instead (`host:port,…`, as REDIS_CLUSTER_NODES). */
const REDIS_CLUSTER_NODES = process.env.BENCH_REDIS_CLUSTER_NODES;
// BENCH_BILLING_BIN runs another build of the service (a baseline from an earlier commit).
const BIN = process.env.BENCH_BILLING_BIN ?? fileURLToPath(new URL('../../bin/billing.js', import.meta.url));
/** The flags `npm start` runs the server with (package.json), and any in BENCH_NODE_FLAGS (e.g. --cpu-prof). */
const SERVER_FLAGS = ['--max-semi-space-size=64', ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)];

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs fn over items with at most `concurrency` calls in flight. */
export async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Deletes a benchmark's Redis keys (its REDIS_PREFIX), so runs leave nothing behind. */
export async function dropRedisKeys(prefix: string): Promise<void> {
  const cluster = REDIS_CLUSTER_NODES ? new Cluster(REDIS_CLUSTER_NODES.split(',').map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) }))) : null;
  const nodes = cluster ? (await cluster.info(), cluster.nodes('master')) : [new Redis(REDIS_URL)];
  try {
    for (const redis of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        // One key at a time on a cluster: the keys of one scan live in many slots.
        for (const key of cluster ? keys : []) await redis.unlink(key);
        if (!cluster && keys.length) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    if (cluster) cluster.disconnect();
    else nodes[0]!.disconnect();
  }
}

export function databaseUrl(name: string): string {
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: BASE_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function run(args: string[], env: Record<string, string>): Promise<string> {
  return promisify(execFile)(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } }).then((r) => r.stdout);
}

export interface Deployment {
  url: string;
  env: Record<string, string>;
  /** An ADMIN key. */
  key: string;
  server: Server;
  /** Stops the server if it runs, deletes the Redis keys and drops the database (kept with BENCH_KEEP=1). */
  dispose(): Promise<void>;
}

/** A fresh database, migrated, with an ADMIN key, and `billing serve` on it (env adds settings). */
export async function startDeployment(name: string, extraEnv: Record<string, string> = {}, opts: { trackFunctions?: boolean } = {}): Promise<Deployment> {
  const stamp = Date.now();
  const db = `billing_bench_${name}_${stamp}`;
  const prefix = `bench:${stamp}:`;
  await admin(`create database ${db}`);
  // Time spent in each SQL function (pg_stat_user_functions), for per-stage budgets.
  if (opts.trackFunctions) await admin(`alter database ${db} set track_functions = 'pl'`);
  const url = databaseUrl(db);
  const redis: Record<string, string> = REDIS_CLUSTER_NODES ? { REDIS_CLUSTER_NODES } : { REDIS_URL };
  // Setting up thousands of customers is many writes a second from one ADMIN key: not what is measured.
  const env = { DATABASE_URL: url, ...redis, REDIS_PREFIX: prefix, RATE_LIMIT_WRITE_PER_SECOND: '1000000', RULES_DIR: fileURLToPath(new URL('../../rules', import.meta.url)), ...extraEnv };
  await run(['migrate'], env);
  const key = (await run(['keys', 'create', '--role', 'ADMIN'], env)).trim().split('\n').at(-1)!;
  const server = await startServer(env);
  return {
    url,
    env,
    key,
    server,
    async dispose() {
      if (server.child.exitCode === null) await server.stop();
      await dropRedisKeys(prefix);
      if (process.env.BENCH_KEEP) console.log(`kept database ${db}`);
      else await admin(`drop database if exists ${db} with (force)`);
    },
  };
}

export interface Server {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `billing serve` and waits until /readyz answers. */
export async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [...SERVER_FLAGS, BIN, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    await sleep(100);
  }
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export class Gql {
  constructor(
    readonly url: string,
    readonly key: string,
  ) {}

  async q<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${this.key}` }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { data?: T; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  }
}

export interface WrkResult {
  requestsPerSecond: number;
  p50ms: number;
  p99ms: number;
  errors: string;
}

const toMs = (text: string): number => {
  const m = /([\d.]+)(us|ms|s)/.exec(text)!;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
};

let wrkRuns = 0;

/** Runs wrk with a Lua script (its text) against a URL; returns throughput and latency percentiles. */
export async function wrk(url: string, script: string, opts: { connections: number; threads: number; seconds: number; args?: string[] }): Promise<WrkResult> {
  // One file per call: wrk runs started in the same millisecond must not share (and overwrite) a script.
  const file = path.join(tmpdir(), `bench-${process.pid}-${Date.now()}-${wrkRuns++}.lua`);
  await writeFile(file, script);
  const { stdout } = await promisify(execFile)(
    'wrk',
    ['-t', String(opts.threads), '-c', String(opts.connections), '-d', `${opts.seconds}s`, '--latency', '-s', file, url, ...(opts.args?.length ? ['--', ...opts.args] : [])],
    { maxBuffer: 1 << 24 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)![1]);
  const p50 = toMs(/\n\s+50%\s+(\S+)/.exec(stdout)![1]!);
  const p99 = toMs(/\n\s+99%\s+(\S+)/.exec(stdout)![1]!);
  const errors = [/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[0], /Socket errors: .*/.exec(stdout)?.[0]].filter(Boolean).join('; ');
  return { requestsPerSecond: rps, p50ms: p50, p99ms: p99, errors };
}

let scriptRuns = 0;

/** A wrk script that POSTs GraphQL bodies built by `bodyLua` (a Lua expression using `n` and `pick(list)`). */
export function wrkScript(key: string, bodyLua: string, listFile?: string, contentType = 'application/json'): string {
  return `
local n = 0
local run = '${Date.now().toString(36)}-${(scriptRuns++).toString(36)}'
local prefix = run
local items = {}
${listFile ? `for line in io.lines("${listFile}") do table.insert(items, line) end` : ''}
local function pick() return items[math.random(#items)] end
wrk.method = "POST"
wrk.headers["Content-Type"] = "${contentType}"
wrk.headers["Authorization"] = "Bearer ${key}"
function setup(thread) thread:set("seed", math.random(1, 1000000000)) end
-- Keys are unique per run and thread: wrk's generator starts from the same seed every run.
function init(args) math.randomseed(seed or os.time()); prefix = run .. '-' .. tostring(seed) end
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, ${bodyLua})
end
`;
}

/** Time PostgreSQL spent in SQL functions (needs track_functions); mark() gives ms per call since the last mark. */
export class FunctionMeter {
  private last = new Map<string, { calls: number; total: number; self: number }>();
  constructor(private readonly sql: pg.Pool) {}

  async mark(): Promise<Map<string, { calls: number; total: number; self: number }>> {
    const { rows } = await this.sql.query<{ funcname: string; calls: string; total_time: number; self_time: number }>(
      'select funcname, calls, total_time, self_time from pg_stat_user_functions',
    );
    const out = new Map<string, { calls: number; total: number; self: number }>();
    for (const r of rows) {
      const p = this.last.get(r.funcname) ?? { calls: 0, total: 0, self: 0 };
      const calls = Number(r.calls) - p.calls;
      if (calls > 0) out.set(r.funcname, { calls, total: (r.total_time - p.total) / calls, self: (r.self_time - p.self) / calls });
      this.last.set(r.funcname, { calls: Number(r.calls), total: r.total_time, self: r.self_time });
    }
    return out;
  }
}

/** Time Redis spent in scripts (INFO commandstats); mark() gives µs per call since the last mark. */
export class ScriptMeter {
  private last = { calls: 0, usec: 0 };
  private readonly redis = new Redis(REDIS_URL);

  async mark(): Promise<{ calls: number; usecPerCall: number }> {
    const info = await this.redis.info('commandstats');
    let calls = 0;
    let usec = 0;
    for (const m of info.matchAll(/^cmdstat_(evalsha|eval|fcall):calls=(\d+),usec=(\d+)/gm)) {
      calls += Number(m[2]);
      usec += Number(m[3]);
    }
    const d = { calls: calls - this.last.calls, usecPerCall: calls > this.last.calls ? (usec - this.last.usec) / (calls - this.last.calls) : 0 };
    this.last = { calls, usec };
    return d;
  }

  close(): void {
    this.redis.disconnect();
  }
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

/**
 * The llm_tokens meter on the shipped `ai-price-book`, and `count` customers on it, each with a
 * wallet funded far beyond any run and its reservation state loaded (one event recorded), as
 * any customer in steady traffic has it. Customer i has the external id `bench-<i>`.
 */
export async function fundedCustomers(gql: Gql, count: number): Promise<string[]> {
  await gql.q('mutation { createMeter(input: {code: "llm_tokens", name: "LLM tokens", aggregation: SUM, property: "tokens", dimensions: ["model", "tokenType"]}) { meter { id } } }');
  await gql.q('mutation { createPlan(input: {code: "api", name: "API", currency: "USD", billingInterval: MONTHLY, baseFee: "0", charges: [{meterCode: "llm_tokens", ruleSetKey: "ai-price-book"}]}) { plan { id } } }');
  const ids: string[] = [];
  await pool(Array.from({ length: count }, (_, i) => i), 16, async (i) => {
    const c = (await gql.q('mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } } }', { i: { externalId: `bench-${i}`, name: `Bench ${i}`, currency: 'USD' } })).createCustomer.customer.id as string;
    await gql.q('mutation($i: CreateSubscriptionInput!) { createSubscription(input: $i) { subscription { id } } }', { i: { customerId: c, planCode: 'api', startsAt: new Date(Date.now() - 3_600_000).toISOString() } });
    const w = (await gql.q('mutation($i: CreateWalletInput!) { createWallet(input: $i) { wallet { id } } }', { i: { customerId: c } })).createWallet.wallet.id as string;
    await gql.q('mutation($i: TopUpWalletInput!) { topUpWallet(input: $i) { balanceAfter } }', { i: { walletId: w, amount: '1000000000', idempotencyKey: `fund-${i}` } });
    await gql.q('mutation($i: RecordUsageInput!) { recordUsage(input: $i) { status } }', { i: { customerId: c, meterCode: 'llm_tokens', quantity: '1', idempotencyKey: `warm-${i}`, dimensions: { model: 'gpt-4o', tokenType: 'input' } } });
    ids[i] = c;
  });
  return ids;
}
