/**
 * Throughput with one, two and three API instances on one PostgreSQL and one Redis, in one run:
 * the same total load (recordUsage at 48 connections, recordUsageBatch of 500 events at 12
 * connections) spread evenly over the instances, and the ratio of each to one instance.
 *
 *   npm run bench:instances        (needs wrk: apt-get install wrk)
 *   BENCH_SECONDS=10 BENCH_INSTANCES=3 BENCH_ROUNDS=3 npm run bench:instances
 *   BENCH_REDIS_CLUSTER_NODES=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 npm run bench:instances
 *
 * Every process here (the instances, PostgreSQL, Redis and wrk) shares this machine's cores, so
 * the ratios say what adding an instance buys on one machine; docs/scaling.md reads them.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { fmt, fundedCustomers, Gql, median, startDeployment, startServer, type Server, wrk, wrkScript } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const MAX_INSTANCES = Number(process.env.BENCH_INSTANCES ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const CUSTOMERS = Number(process.env.BENCH_WALLETS ?? 500);
const SINGLE_CONNECTIONS = 48;
const BATCH_CONNECTIONS = 12;

const event = (customer: string, key: string) =>
  `'{"customerId":"' .. ${customer} .. '","meterCode":"llm_tokens","quantity":"1000","dimensions":{"model":"gpt-4o","tokenType":"input"},"idempotencyKey":"' .. ${key} .. '"}'`;
const single = `'{"query":"mutation($i: RecordUsageInput!) { recordUsage(input: $i) { status } }","variables":{"i":' .. ${event('pick()', "prefix .. '-' .. n")} .. '}}'`;
const batch = `(function()
  local parts = {}
  local customer = pick()
  for j = 1, 500 do parts[j] = ${event('customer', "prefix .. '-' .. n .. '-' .. j")} end
  return '{"query":"mutation($i: RecordUsageBatchInput!) { recordUsageBatch(input: $i) { acceptedCount } }","variables":{"i":{"atomic":false,"events":[' .. table.concat(parts, ',') .. ']}}}'
end)()`;

/** The same load spread over the instances: one wrk per instance, its share of the connections. */
async function spread(servers: Server[], key: string, body: string, list: string, connections: number): Promise<{ rps: number; p99: number }> {
  const results = await Promise.all(
    servers.map((s, i) => {
      const share = Math.floor(connections / servers.length) + (i < connections % servers.length ? 1 : 0);
      return wrk(s.url, wrkScript(key, body, list), { connections: share, threads: 1, seconds: SECONDS });
    }),
  );
  return { rps: results.reduce((sum, r) => sum + r.requestsPerSecond, 0), p99: Math.max(...results.map((r) => r.p99ms)) };
}

async function countEvents(sql: pg.Pool): Promise<number> {
  return Number((await sql.query('select count(*) from usage_event')).rows[0].count);
}

async function main() {
  const deployment = await startDeployment('instances');
  const sql = new pg.Pool({ connectionString: deployment.url, max: 2 });
  sql.on('error', () => {});
  const servers: Server[] = [deployment.server];
  try {
    const gql = new Gql(deployment.server.url, deployment.key);
    console.log(`setting up ${CUSTOMERS} funded customers…`);
    const ids = await fundedCustomers(gql, CUSTOMERS);
    const list = path.join(tmpdir(), `bench-instances-${Date.now()}.txt`);
    await writeFile(list, ids.join('\n'));
    while (servers.length < MAX_INSTANCES) servers.push(await startServer(deployment.env));

    // Warm every instance (JIT, caches), then give the planner statistics of what that wrote.
    await spread(servers, deployment.key, batch, list, 4);
    await spread(servers, deployment.key, single, list, SINGLE_CONNECTIONS);
    await sql.query('analyze');

    const rows = new Map<number, { single: number[]; p99: number[]; events: number[] }>();
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order between rounds, so that a slow drift of the machine does not favour one count.
      const counts = Array.from({ length: MAX_INSTANCES }, (_, i) => i + 1);
      for (const n of round % 2 === 0 ? counts : counts.reverse()) {
        const row = rows.get(n) ?? { single: [], p99: [], events: [] };
        const s = await spread(servers.slice(0, n), deployment.key, single, list, SINGLE_CONNECTIONS);
        const before = await countEvents(sql);
        await spread(servers.slice(0, n), deployment.key, batch, list, BATCH_CONNECTIONS);
        const events = ((await countEvents(sql)) - before) / SECONDS;
        row.single.push(s.rps);
        row.p99.push(s.p99);
        row.events.push(events);
        rows.set(n, row);
        console.log(`round ${round + 1}, ${n} instance(s): recordUsage ${fmt(s.rps)} req/s (p99 ${s.p99.toFixed(1)} ms), batches ${fmt(events)} events/s`);
      }
    }

    const one = rows.get(1)!;
    console.log(`\n${cpus().length} cores; medians of ${ROUNDS} round(s), ${SECONDS} s each`);
    console.log(`${'instances'.padEnd(12)}${'recordUsage @48'.padEnd(34)}${'recordUsageBatch 500 @12'.padEnd(34)}`);
    for (const [n, row] of [...rows].sort((a, b) => a[0] - b[0])) {
      const s = median(row.single);
      const e = median(row.events);
      console.log(
        `${String(n).padEnd(12)}${`${fmt(s)} req/s (${(s / median(one.single)).toFixed(2)}×) p99 ${median(row.p99).toFixed(0)} ms`.padEnd(34)}${`${fmt(e)} events/s (${(e / median(one.events)).toFixed(2)}×)`.padEnd(34)}`,
      );
    }
    const ratios = [...rows.keys()].sort().map((n) => `${n}: ${(median(rows.get(n)!.single) / median(one.single)).toFixed(2)}×/${(median(rows.get(n)!.events) / median(one.events)).toFixed(2)}×`);
    console.log(`\nsummary (recordUsage/batch vs one instance): ${ratios.join(', ')}`);
  } finally {
    await sql.end();
    for (const s of servers.slice(1)) await s.stop();
    await deployment.dispose();
  }
}

await main();
