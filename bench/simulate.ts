/**
 * Price simulation speed, in one run on this machine:
 *   - seeds BENCH_EVENTS (1,000,000) usage events over the last 30 days for BENCH_CUSTOMERS (50)
 *     customers on the shipped ai-price-book (graduated tiers on a shared monthly counter), inserted
 *     straight into usage_event in SQL in chunks of 100,000;
 *   - re-rates them all under the shipped rules folder (`billing rules simulate` does the same),
 *     BENCH_RUNS (3) times: events re-rated per second (median), the stream alone (the same COPY,
 *     nothing rated), the rating alone (the same rows read once into memory), and the share the
 *     stream takes.
 *
 *   npm run bench:simulate
 */
import 'reflect-metadata';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { SqlPool } from '../src/db/sql.js';
import { readRuleFiles } from '../src/modules/rules/index.js';
import { RuleBook } from '../src/rating/rule-book.js';
import { SimulationRepository, SimulationService } from '../src/modules/simulations/index.js';
import { newTally, simulateBatch, type SimulationLookups } from '../src/modules/simulations/simulation.pure.js';
import type { SimulationEventRow } from '../src/modules/simulations/simulation.record.js';
import { fmt, Gql, median, startDeployment } from './lib.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CHUNK = 100_000;
const DAY_MS = 86_400_000;
const RULES = fileURLToPath(new URL('../../rules', import.meta.url));

async function setup(gql: Gql): Promise<string[]> {
  await gql.q('mutation { createMeter(input: {code: "llm_tokens", name: "LLM tokens", aggregation: SUM, property: "tokens", dimensions: ["model", "tokenType"]}) { meter { id } } }');
  await gql.q('mutation { createPlan(input: {code: "api", name: "API", currency: "USD", billingInterval: MONTHLY, baseFee: "0", charges: [{meterCode: "llm_tokens", ruleSetKey: "ai-price-book"}]}) { plan { id } } }');
  const ids: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const c = (await gql.q(`mutation { createCustomer(input: {externalId: "c${i}", name: "C${i}", currency: "USD"}) { customer { id } } }`)).createCustomer.customer.id as string;
    await gql.q('mutation($i: CreateSubscriptionInput!) { createSubscription(input: $i) { subscription { id } } }', { i: { customerId: c, planCode: 'api', startsAt: new Date(Date.now() - 60 * DAY_MS).toISOString() } });
    ids.push(c);
  }
  return ids;
}

/** Events i in [lo, hi): customer i % CUSTOMERS, 5 priced models × 2 token types, 1-5,000 tokens; postpaid, calendar-month periods (UTC). */
async function seed(sql: pg.Pool, customers: string[], lo: number, hi: number, from: Date): Promise<void> {
  await sql.query(
    `insert into usage_event (id, customer_id, idempotency_key, request_hash, meter_id, meter_code, quantity, occurred_at, dimensions, "values",
                              period_start, currency, wallet_id, amount, charged, rule_set_key, rule_set_version, rule_set_hash, fired_rules,
                              lines, allocations, usage_batch_id, soft_limit_exceeded, balance_after, available_after, reservation_id, created_at)
     select gen_random_uuid(), ($1::uuid[])[1 + i % $6::int], 'seed-' || i, repeat('0', 64), m.id, m.code, s.q, s.at,
            jsonb_build_object('model', s.model, 'tokenType', s.tt), '{}', date_trunc('month', s.at at time zone 'UTC') at time zone 'UTC',
            'USD', null, s.q * 0.0000025, round(s.q * 2500)::bigint, 'ai-price-book', 2, repeat('0', 64), '[]', '[]', '[]', $5::uuid, false, null, null, null, now()
       from generate_series($2::int, $3::int - 1) i
       cross join lateral (select (array['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'claude-haiku-4', 'gemini-2.5-flash'])[1 + (i / $6::int) % 5] as model,
                                  case when (i / $6::int) % 2 = 0 then 'input' else 'output' end as tt,
                                  (1 + (i::bigint * 7919) % 5000)::numeric as q,
                                  $4::timestamptz + make_interval(secs => i * (30 * 86400.0 / $7::int)) as at) s
       cross join (select id, code from meter where code = 'llm_tokens') m`,
    [customers, lo, hi, from, crypto.randomUUID(), customers.length, EVENTS],
  );
}

async function main() {
  const deployment = await startDeployment('simulate');
  const sql = new pg.Pool({ connectionString: deployment.url, max: 2 });
  const pool = new SqlPool(deployment.url, 2);
  try {
    const customers = await setup(new Gql(deployment.server.url, deployment.key));
    await deployment.server.stop();
    const from = new Date(Date.now() - 30 * DAY_MS);
    const to = new Date(from.getTime() + 30 * DAY_MS + 1000);
    const t0 = performance.now();
    for (let lo = 0; lo < EVENTS; lo += CHUNK) await seed(sql, customers, lo, Math.min(lo + CHUNK, EVENTS), from);
    await sql.query('analyze usage_event');
    console.log(`seeded ${fmt(EVENTS)} events for ${CUSTOMERS} customers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const candidate = await readRuleFiles(RULES, { mustExist: true });
    const repo = new SimulationRepository(pool);
    const service = new SimulationService(repo, { statementTimeoutMs: null, maxWindowDays: null });
    const rates: number[] = [];
    const streams: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      let n = 0;
      const s0 = performance.now();
      await repo.stream({ from, to, customerIds: null }, null, async (rows) => void (n += rows.length));
      streams.push(n / ((performance.now() - s0) / 1000));
      const r0 = performance.now();
      const report = await service.simulate({ candidate, from, to, by: 'model' });
      const seconds = (performance.now() - r0) / 1000;
      rates.push((report.events + report.primed) / seconds);
      if (r === 0) console.log(`re-rated ${fmt(report.events)} events (${report.refused} refused); total current ${report.totals[0]?.current} candidate ${report.totals[0]?.candidate} USD`);
      console.log(`run ${r + 1}: ${fmt(Math.round(rates[r]!))} events/s re-rated; stream alone ${fmt(Math.round(streams[r]!))} events/s`);
    }
    // The rating alone: the same rows, read once into memory, re-rated without PostgreSQL.
    const batches: Array<{ rows: SimulationEventRow[]; lookups: SimulationLookups }> = [];
    await repo.stream({ from, to, customerIds: null }, null, async (rows, customers, meters) => void batches.push({ rows, lookups: { customers: new Map(customers), meters } }));
    const book = new RuleBook(candidate.flatMap((f) => (f.result.ok ? [f.result.compiled] : [])));
    const ratings: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const tally = newTally('model', book.keys(), from);
      const r0 = performance.now();
      for (const b of batches) await simulateBatch(book, tally, b.rows, b.lookups);
      ratings.push((tally.events + tally.primed) / ((performance.now() - r0) / 1000));
      console.log(`run ${r + 1}: rating alone (rows in memory) ${fmt(Math.round(ratings[r]!))} events/s`);
    }
    const rate = median(rates);
    const stream = median(streams);
    console.log(`\nsimulation: ${fmt(Math.round(rate))} events/s re-rated (target 200,000/s: ${rate >= 200_000 ? 'met' : 'missed'})`);
    console.log(`the rating alone (rows in memory, no PostgreSQL): ${fmt(Math.round(median(ratings)))} events/s`);
    console.log(`the stream alone (PostgreSQL's read in order + COPY + row parsing): ${fmt(Math.round(stream))} events/s, ${((rate / stream) * 100).toFixed(0)}% of the simulation's time`);
  } finally {
    await sql.end();
    await pool.close();
    await deployment.dispose();
  }
}

await main();
