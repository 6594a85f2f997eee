/**
 * Real-time usage throughput, in one run on this machine:
 *   - the floor: a trivial mutation through the same server stack (HTTP, auth, Apollo);
 *   - recordUsage, one event per request, 50 connections: rate and latency, and its ratio to the floor;
 *   - recordUsageBatch, 500 events per request, 10 connections: durable events per second,
 *     with each request for one customer picked at random among many, and all for one hot wallet;
 *   - a naive baseline implemented here: one PostgreSQL transaction per event that locks the
 *     wallet row, updates it and inserts the event, over many wallets and one hot wallet.
 *
 *   npm run bench:usage            (needs wrk: apt-get install wrk)
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { fmt, FunctionMeter, fundedCustomers, Gql, ScriptMeter, sleep, startDeployment, wrk, wrkScript } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WALLETS = Number(process.env.BENCH_WALLETS ?? 1000);
const stamp = Date.now();

const event = (customer: string, key: string) =>
  `'{"customerId":"' .. ${customer} .. '","meterCode":"llm_tokens","quantity":"1000","dimensions":{"model":"gpt-4o","tokenType":"input"},"idempotencyKey":"' .. ${key} .. '"}'`;

function singleBody(): string {
  return `'{"query":"mutation($i: RecordUsageInput!) { recordUsage(input: $i) { status } }","variables":{"i":' .. ${event('pick()', "prefix .. '-' .. n")} .. '}}'`;
}

/**
 * A Lua expression building a 500-event batch body: one integrator's batch is one customer's
 * traffic, so each request picks one customer at random (or always the hot one).
 */
function batchBody(hot: string | null): string {
  return `(function()
    local parts = {}
    local customer = ${hot ? `'${hot}'` : 'pick()'}
    for j = 1, 500 do parts[j] = ${event('customer', "prefix .. '-' .. n .. '-' .. j")} end
    return '{"query":"mutation($i: RecordUsageBatchInput!) { recordUsageBatch(input: $i) { acceptedCount } }","variables":{"i":{"atomic":false,"events":[' .. table.concat(parts, ',') .. ']}}}'
  end)()`;
}

const FLOOR = `'{"query":"mutation { __typename }"}'`;

/** The same 500 events as CloudEvents for POST /v1/events (subject: the customer's external id, picked at random per request). */
function cloudEventsBody(): string {
  return `(function()
    local parts = {}
    local subject = pick()
    for j = 1, 500 do
      parts[j] = '{"specversion":"1.0","type":"llm_tokens","source":"bench","id":"' .. prefix .. '-' .. n .. '-' .. j .. '","subject":"' .. subject .. '","data":{"tokens":"1000","model":"gpt-4o","tokenType":"input"}}'
    end
    return '[' .. table.concat(parts, ',') .. ']'
  end)()`;
}

/** An authorization of 1,000 tokens for a customer picked at random (each holds money until it expires). */
function authorizeBody(): string {
  return `'{"query":"mutation($i: AuthorizeUsageInput!) { authorizeUsage(input: $i) { status } }","variables":{"i":{"customerId":"' .. pick() .. '","meterCode":"llm_tokens","estimatedQuantity":"1000","dimensions":{"model":"gpt-4o","tokenType":"input"},"idempotencyKey":"' .. prefix .. '-a-' .. n .. '"}}}'`;
}

const STAGES = ['request', 'prepare', 'rate', 'reserve', 'commit_wait', 'commit', 'post'] as const;

/** Reads the server's per-stage histograms; mark() returns the mean per stage since the last mark. */
class StageMeter {
  private last = new Map<string, { sum: number; count: number }>();
  constructor(private readonly url: string) {}

  async mark(): Promise<Map<string, number>> {
    const text = await (await fetch(this.url)).text();
    const now = new Map<string, { sum: number; count: number }>();
    for (const m of text.matchAll(/^billing_usage_stage_seconds_(sum|count)\{stage="([a-z_]+)"\} ([0-9.e+-]+)$/gm)) {
      const e = now.get(m[2]!) ?? { sum: 0, count: 0 };
      e[m[1] as 'sum' | 'count'] = Number(m[3]);
      now.set(m[2]!, e);
    }
    const means = new Map<string, number>();
    for (const [stage, e] of now) {
      const p = this.last.get(stage) ?? { sum: 0, count: 0 };
      const count = e.count - p.count;
      means.set(stage, count > 0 ? ((e.sum - p.sum) / count) * 1000 : 0);
      if (stage === 'request') means.set('__requests', count);
    }
    this.last = now;
    return means;
  }
}

/** SQL functions on the usage path whose time the budget shows. */
const FUNCTIONS = ['usage_commit', 'alert_evaluate', 'usage_rollup_add', 'usage_period_line_add', 'spending_cap_guard'] as const;

interface Budget {
  stages: Map<string, number>;
  functions: Map<string, { calls: number; total: number; self: number }>;
  script: { calls: number; usecPerCall: number };
}

/** Everything the per-stage budget reads: Node stages, PostgreSQL functions, Lua scripts. */
class Probe {
  private readonly functions: FunctionMeter;
  private readonly script = new ScriptMeter();
  constructor(
    private readonly stageMeter: StageMeter,
    sql: pg.Pool,
  ) {
    this.functions = new FunctionMeter(sql);
  }

  async mark(): Promise<Budget> {
    return { stages: await this.stageMeter.mark(), functions: await this.functions.mark(), script: await this.script.mark() };
  }

  close(): void {
    this.script.close();
  }
}

function printBudgets(columns: Array<[string, Budget]>): void {
  const row = (label: string, cells: string[]) => console.log(`  ${label.padEnd(28)}${cells.map((c) => c.padStart(14)).join('')}`);
  console.log('\nper-stage budget, mean ms per request (Node stages) and per call (PostgreSQL functions, Lua):');
  row('', columns.map(([name]) => name));
  for (const stage of STAGES) row(stage, columns.map(([, b]) => (b.stages.get(stage) ?? 0).toFixed(3)));
  for (const f of FUNCTIONS) {
    row(`pg ${f} (total/self)`, columns.map(([, b]) => {
      const t = b.functions.get(f);
      return t ? `${t.total.toFixed(2)}/${t.self.toFixed(2)}` : '-';
    }));
  }
  row('pg usage_commit calls/request', columns.map(([, b]) => {
    const calls = b.functions.get('usage_commit')?.calls ?? 0;
    const requests = b.stages.get('__requests') ?? 0;
    return requests ? (calls / requests).toFixed(3) : '-';
  }));
  row('lua script (µs/call)', columns.map(([, b]) => b.script.usecPerCall.toFixed(1)));
  row('lua calls/request', columns.map(([, b]) => {
    const requests = b.stages.get('__requests') ?? 0;
    return requests ? (b.script.calls / requests).toFixed(2) : '-';
  }));
}

async function countEvents(sql: pg.Pool): Promise<number> {
  return Number((await sql.query('select count(*) from usage_event')).rows[0].count);
}

/** One transaction per event: lock the wallet row, update it, insert the event. */
async function naive(url: string, walletCount: number, seconds: number): Promise<number> {
  const sql = new pg.Pool({ connectionString: url, max: 16 });
  sql.on('error', () => {});
  await sql.query('create table if not exists naive_wallet (id int primary key, balance bigint not null)');
  await sql.query('create table if not exists naive_event (id bigserial primary key, wallet_id int not null references naive_wallet (id), amount bigint not null, idempotency_key text not null unique, created_at timestamptz not null default now())');
  await sql.query('truncate naive_event, naive_wallet');
  await sql.query('insert into naive_wallet select g, 1000000000000000 from generate_series(1, $1) g', [walletCount]);
  let events = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      const client = await sql.connect();
      let n = 0;
      while (Date.now() < end) {
        const wallet = 1 + Math.floor(Math.random() * walletCount);
        await client.query('begin');
        const { rows } = await client.query('select balance from naive_wallet where id = $1 for update', [wallet]);
        if (BigInt(rows[0].balance) >= 2_500_000n) {
          await client.query('update naive_wallet set balance = balance - $2 where id = $1', [wallet, 2_500_000]);
          await client.query('insert into naive_event (wallet_id, amount, idempotency_key) values ($1, $2, $3)', [wallet, 2_500_000, `${w}-${n++}`]);
        }
        await client.query('commit');
        events++;
      }
      client.release();
    }),
  );
  await sql.end();
  return events / seconds;
}

async function main() {
  const deployment = await startDeployment('usage', {}, { trackFunctions: true });
  const { url, env, key, server } = deployment;
  const sql = new pg.Pool({ connectionString: url, max: 2 });
  sql.on('error', () => {}); // an idle client cut off when the database is dropped
  try {
    const gql = new Gql(server.url, key);
    console.log(`setting up ${WALLETS} funded customers and one hot one…`);
    const ids = await fundedCustomers(gql, WALLETS + 1);
    const many = ids.slice(0, WALLETS);
    const hot = ids[WALLETS]!;
    const list = path.join(tmpdir(), `bench-customers-${stamp}.txt`);
    await writeFile(list, many.join('\n'));
    const externalList = path.join(tmpdir(), `bench-external-${stamp}.txt`);
    await writeFile(externalList, many.map((_, i) => `bench-${i}`).join('\n'));
    const eventsUrl = server.url.replace('/graphql', '/v1/events');
    const graphqlUrl = server.url;

    // Warm the server (JIT, caches, rule memo), then give the planner statistics of the tables
    // the warm-up filled, as pgbench does before it measures (autovacuum would, a minute later).
    await wrk(graphqlUrl, wrkScript(key, batchBody(null), list), { connections: 4, threads: 1, seconds: 5 });
    await wrk(graphqlUrl, wrkScript(key, singleBody(), list), { connections: 50, threads: 2, seconds: 3 });
    await sql.query('analyze');

    const probe = new Probe(new StageMeter(server.url.replace('/graphql', '/metrics')), sql);
    const floor = await wrk(graphqlUrl, wrkScript(key, FLOOR), { connections: 50, threads: 2, seconds: SECONDS });
    await probe.mark();
    const single = await wrk(graphqlUrl, wrkScript(key, singleBody(), list), { connections: 50, threads: 2, seconds: SECONDS });
    const singleBudget = await probe.mark();
    const floor1 = await wrk(graphqlUrl, wrkScript(key, FLOOR), { connections: 1, threads: 1, seconds: SECONDS });
    await probe.mark();
    const single1 = await wrk(graphqlUrl, wrkScript(key, singleBody(), list), { connections: 1, threads: 1, seconds: SECONDS });
    const single1Budget = await probe.mark();
    const authorize1 = await wrk(graphqlUrl, wrkScript(key, authorizeBody(), list), { connections: 1, threads: 1, seconds: SECONDS });
    const authorize1Budget = await probe.mark();

    const before = await countEvents(sql);
    const batch = await wrk(graphqlUrl, wrkScript(key, batchBody(null), list), { connections: 10, threads: 2, seconds: SECONDS });
    const batchBudget = await probe.mark();
    const afterMany = await countEvents(sql);
    const batchHot = await wrk(graphqlUrl, wrkScript(key, batchBody(hot), list), { connections: 10, threads: 2, seconds: SECONDS });
    const hotBudget = await probe.mark();
    const afterHot = await countEvents(sql);
    // A build without the second door answers 404 (and its phase measures nothing).
    const served = (await fetch(eventsUrl, { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json', authorization: `Bearer ${key}` }, body: '[]' })).status !== 404;
    const cloud = await wrk(eventsUrl, wrkScript(key, cloudEventsBody(), externalList, 'application/cloudevents-batch+json'), { connections: 10, threads: 2, seconds: SECONDS });
    const cloudBudget = await probe.mark();
    const afterCloud = await countEvents(sql);
    const cloudEvents = (afterCloud - afterHot) / SECONDS;
    probe.close();
    const batchEvents = (afterMany - before) / SECONDS;
    const hotEvents = (afterHot - afterMany) / SECONDS;

    await server.stop();
    await sleep(500);
    const naiveMany = await naive(url, WALLETS, SECONDS);
    const naiveHot = await naive(url, 1, SECONDS);

    const line = (label: string, value: string, target = '') => console.log(`${label.padEnd(50)}${value.padEnd(62)}${target}`);
    const lat = (r: typeof floor) => `p50 ${r.p50ms.toFixed(2)} ms  p99 ${r.p99ms.toFixed(2)} ms${r.errors ? ` ${r.errors}` : ''}`;
    console.log('');
    line('', 'measured', 'target');
    line('floor: trivial mutation, 50 connections', `${fmt(floor.requestsPerSecond)} req/s  ${lat(floor)}`);
    line('recordUsage, 50 connections', `${fmt(single.requestsPerSecond)} req/s (${(single.requestsPerSecond / floor.requestsPerSecond).toFixed(2)}× floor)  ${lat(single)}`, '>= 0.5× floor, p99 < 25 ms');
    line('floor, 1 connection', `${lat(floor1)}`);
    line('recordUsage, 1 connection', `${lat(single1)} (p50 ${(single1.p50ms / floor1.p50ms).toFixed(1)}× floor)`, 'p50 <= 2× floor');
    line('authorizeUsage, 1 connection', `${lat(authorize1)} (p50 ${(authorize1.p50ms / floor1.p50ms).toFixed(1)}× floor)`, 'p50 <= 2× floor');
    line('recordUsageBatch 500/request, many wallets', `${fmt(batchEvents)} durable events/s (${(batchEvents / naiveMany).toFixed(1)}× naive)  ${lat(batch)}`, '>= 50,000/s and >= 10× naive');
    line('recordUsageBatch 500/request, one hot wallet', `${fmt(hotEvents)} durable events/s (${(hotEvents / naiveHot).toFixed(1)}× naive)  ${lat(batchHot)}`, '>= 50,000/s and >= 35× naive');
    line('POST /v1/events 500 CloudEvents/request, many', served ? `${fmt(cloudEvents)} durable events/s (${(cloudEvents / naiveMany).toFixed(1)}× naive)  ${lat(cloud)}` : 'n/a (this build does not serve it)', '(second door: no GraphQL)');
    line('naive: 1 tx per event, 16 conns, many wallets', `${fmt(naiveMany)} events/s`);
    line('naive: 1 tx per event, 16 conns, one hot wallet', `${fmt(naiveHot)} events/s`);
    printBudgets([
      ['single@50', singleBudget],
      ['single@1', single1Budget],
      ['authorize@1', authorize1Budget],
      ['batch500', batchBudget],
      ['batch500 hot', hotBudget],
      ['events500', cloudBudget],
    ]);
    console.log(
      `\nsummary: recordUsage ${(single.requestsPerSecond / floor.requestsPerSecond).toFixed(2)}× floor p99 ${single.p99ms.toFixed(1)} ms; 1-conn p50 ${(single1.p50ms / floor1.p50ms).toFixed(1)}× (authorize ${(authorize1.p50ms / floor1.p50ms).toFixed(1)}×); batches ${fmt(batchEvents)}/s (${(batchEvents / naiveMany).toFixed(1)}× naive), hot ${fmt(hotEvents)}/s (${(hotEvents / naiveHot).toFixed(1)}× naive); /v1/events ${served ? `${fmt(cloudEvents)}/s` : 'n/a'}`,
    );
  } finally {
    await sql.end();
    await deployment.dispose();
  }
}

await main();
