/**
 * Usage queries over a big customer, in one run on this machine:
 *   - seeds one customer with BENCH_EVENTS (1,000,000) events spread evenly over the last 30
 *     days, inserted straight into usage_event in SQL (chunks of 100,000), so the rollup trigger
 *     maintains usage_rollup exactly as it does for committed usage; period totals likewise;
 *   - times, over HTTP against the real server, `usage` (30 days, DAY, grouped by model),
 *     `usage` (7 days, HOUR, grouped by meter and model) and `currentPeriod`: median and p90 of
 *     BENCH_RUNS (20) runs after a warm-up;
 *   - the baseline: the same daily per-model sums straight from usage_event in SQL;
 *   - the rollup trigger's cost on ingestion (see ingestionCost).
 *
 *   npm run bench:usage-queries
 */
import pg from 'pg';
import { fmt, Gql, median, startDeployment } from './lib.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const CHUNK = 100_000;
const DAY_MS = 86_400_000;

async function setup(gql: Gql): Promise<string> {
  await gql.q('mutation { createMeter(input: {code: "llm_tokens", name: "LLM tokens", aggregation: SUM, property: "tokens", dimensions: ["model", "tokenType"]}) { meter { id } } }');
  await gql.q('mutation { createPlan(input: {code: "api", name: "API", currency: "USD", billingInterval: MONTHLY, baseFee: "0", charges: [{meterCode: "llm_tokens", ruleSetKey: "ai-price-book"}]}) { plan { id } } }');
  const c = (await gql.q('mutation { createCustomer(input: {externalId: "big", name: "Big", currency: "USD", spendingCap: "100000"}) { customer { id } } }')).createCustomer.customer.id as string;
  await gql.q('mutation($i: CreateSubscriptionInput!) { createSubscription(input: $i) { subscription { id } } }', { i: { customerId: c, planCode: 'api', startsAt: new Date(Date.now() - 60 * DAY_MS).toISOString() } });
  const w = (await gql.q('mutation($i: CreateWalletInput!) { createWallet(input: $i) { wallet { id } } }', { i: { customerId: c } })).createWallet.wallet.id as string;
  await gql.q('mutation($i: TopUpWalletInput!) { topUpWallet(input: $i) { balanceAfter } }', { i: { walletId: w, amount: '1000', idempotencyKey: 'fund' } });
  return c;
}

/**
 * Inserts events i in [lo, hi): 5 models × 2 token types, 1-5,000 tokens, priced per token as
 * a per-unit line (StoredLine format); postpaid (no wallet), period = calendar month (UTC).
 */
async function seed(sql: pg.Pool, customerId: string, lo: number, hi: number, from: Date): Promise<void> {
  await sql.query(
    `insert into usage_event (id, customer_id, idempotency_key, request_hash, meter_id, meter_code, quantity, occurred_at, dimensions, "values",
                              period_start, currency, wallet_id, amount, charged, rule_set_key, rule_set_version, rule_set_hash, fired_rules,
                              lines, allocations, usage_batch_id, soft_limit_exceeded, balance_after, available_after, reservation_id, created_at)
     select gen_random_uuid(), $1, 'seed-' || i, repeat('0', 64), m.id, m.code, s.q, s.at,
            jsonb_build_object('model', s.model, 'tokenType', s.tt), '{}', date_trunc('month', s.at at time zone 'UTC') at time zone 'UTC',
            'USD', null, s.amount, s.units, 'ai-price-book', 2, repeat('0', 64), jsonb_build_array(s.model || ' ' || s.tt || ' tokens'),
            jsonb_build_array(jsonb_build_object('c', s.model || '-' || s.tt, 'm', 'per_unit', 'd', null, 'q', s.q::text, 'a', s.amount::text,
                                                 'u', s.units::text, 't', '[]'::jsonb, 'adj', '[]'::jsonb)),
            '[]', $5::uuid, false, null, null, null, now()
       from generate_series($2::int, $3::int - 1) i
       cross join lateral (select (array['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'o3', 'llama-3'])[1 + i % 5] as model,
                                  case when i % 2 = 0 then 'input' else 'output' end as tt,
                                  (1 + (i::bigint * 7919) % 5000)::numeric as q,
                                  $4::timestamptz + make_interval(secs => i * (30 * 86400.0 / $6::int)) as at) s0
       cross join lateral (select s0.*, s0.q * 0.0000025 as amount, round(s0.q * 0.0000025 * 1000000000)::bigint as units) s
       cross join (select id, code from meter where code = 'llm_tokens') m`,
    [customerId, lo, hi, from, crypto.randomUUID(), EVENTS],
  );
}

/**
 * The rollup trigger's cost on ingestion: 500-event inserts into usage_event (the statement
 * usage_commit runs) with the trigger enabled and disabled, interleaved so load drifts hit both.
 * `spread` dimension sets per statement: 10 is one busy customer's batch, 500 the worst case
 * (every event its own rollup row, as a batch over many customers).
 */
async function ingestionCost(sql: pg.Pool, customerId: string, spread: number, rounds: number): Promise<{ on: number; off: number }> {
  const times = { on: [] as number[], off: [] as number[] };
  let next = 10_000_000 * spread;
  const client = await sql.connect();
  try {
    for (let r = 0; r < rounds; r++) {
      for (const mode of ['on', 'off'] as const) {
        await client.query(`alter table usage_event ${mode === 'on' ? 'enable' : 'disable'} trigger usage_event_rollup`);
        const t0 = performance.now();
        await client.query(
          `insert into usage_event (id, customer_id, idempotency_key, request_hash, meter_id, meter_code, quantity, occurred_at, dimensions, "values",
                                    period_start, currency, amount, charged, rule_set_key, rule_set_version, rule_set_hash, fired_rules, lines,
                                    allocations, usage_batch_id, soft_limit_exceeded, created_at)
           select gen_random_uuid(), $1, 'ingest-' || i, repeat('0', 64), m.id, m.code, 1000, now() - make_interval(secs => i % 3600),
                  jsonb_build_object('model', 'm' || (i % $3::int), 'tokenType', 'input'), '{}', date_trunc('month', now() at time zone 'UTC') at time zone 'UTC',
                  'USD', 0.0025, 2500000, 'ai-price-book', 2, repeat('0', 64), '[]', '[]', '[]', gen_random_uuid(), false, now()
             from generate_series($2::bigint, $2::bigint + 499) i cross join (select id, code from meter where code = 'llm_tokens') m`,
          [customerId, next, spread],
        );
        times[mode].push(performance.now() - t0);
        next += 500;
      }
    }
  } finally {
    await client.query('alter table usage_event enable trigger usage_event_rollup');
    client.release();
  }
  return { on: median(times.on), off: median(times.off) };
}

async function timed(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;
const show = (label: string, xs: number[]) => console.log(`${label.padEnd(62)}median ${median(xs).toFixed(1)} ms  p90 ${p90(xs).toFixed(1)} ms`);

async function main() {
  const deployment = await startDeployment('queries');
  const { url, key, server } = deployment;
  const sql = new pg.Pool({ connectionString: url, max: 2 });
  sql.on('error', () => {}); // an idle client cut off when the database is dropped
  try {
    const gql = new Gql(server.url, key);
    const customerId = await setup(gql);
    const now = new Date();
    const from = new Date(now.getTime() - 30 * DAY_MS);
    console.log(`seeding ${fmt(EVENTS)} events over 30 days…`);
    const t0 = performance.now();
    for (let lo = 0; lo < EVENTS; lo += CHUNK) await seed(sql, customerId, lo, Math.min(lo + CHUNK, EVENTS), from);
    await sql.query(
      `insert into usage_period_total (customer_id, period_start, meter_code, currency, quantity, max_quantity, amount, charged, events)
       select customer_id, period_start, meter_code, currency, sum(quantity), max(quantity), sum(amount), sum(charged), count(*)
         from usage_event where customer_id = $1 group by 1, 2, 3, 4`,
      [customerId],
    );
    await sql.query('analyze');
    const seeded = (performance.now() - t0) / 1000;
    const [{ rollups }] = (await sql.query<{ rollups: string }>('select count(*)::text as rollups from usage_rollup where customer_id = $1', [customerId])).rows as [{ rollups: string }];

    const usage = (since: Date, granularity: string, groupBy: string) =>
      gql.q(
        `query($c: ID!, $f: DateTimeISO!, $t: DateTimeISO!) { usage(customerId: $c, from: $f, to: $t, granularity: ${granularity}, groupBy: ${groupBy}) {
           buckets { start groups { meterCode dimensions { value } quantity amount charged events } } totals { amount charged events } } }`,
        { c: customerId, f: since.toISOString(), t: now.toISOString() },
      );
    const month = () => usage(from, 'DAY', '{dimensions: ["model"]}');
    const week = () => usage(new Date(now.getTime() - 7 * DAY_MS), 'HOUR', '{meter: true, dimensions: ["model"]}');
    const period = () =>
      gql.q('query($c: ID!) { currentPeriod(customerId: $c) { start end spend { charged projected } wallets { wallet { balance available } headroom } spendingCap { used percentUsed } topModels { model charged } } }', {
        c: customerId,
      });
    const raw = () =>
      sql.query(
        `select date_trunc('day', occurred_at, 'UTC'), dimensions->>'model', sum(quantity), sum(amount), sum(charged), count(*)
           from usage_event where customer_id = $1 and occurred_at >= $2 and occurred_at < $3 group by 1, 2`,
        [customerId, from, now],
      );
    const total = (await month()).usage.totals[0];
    for (const fn of [month, week, period]) await timed(3, fn);
    await timed(1, raw);

    console.log('');
    console.log(`${'seeded'.padEnd(62)}${fmt(EVENTS)} events in ${seeded.toFixed(1)} s; ${fmt(Number(rollups))} rollup rows`);
    console.log(`${'usage over 30 days: totals'.padEnd(62)}${total.events} events, charged ${total.charged}`);
    const m = await timed(RUNS, month);
    show('usage: 30 days, DAY, grouped by model (HTTP)', m);
    show('usage: 7 days, HOUR, grouped by meter and model (HTTP)', await timed(RUNS, week));
    show('currentPeriod (HTTP)', await timed(RUNS, period));
    const r = await timed(Math.max(3, Math.floor(RUNS / 4)), raw);
    show('baseline: daily per-model sums from usage_event (SQL only)', r);
    console.log(`${'  ratio baseline / usage query'.padEnd(62)}${(median(r) / median(m)).toFixed(1)}`);
    for (const spread of [10, 500]) {
      const cost = await ingestionCost(sql, customerId, spread, 40);
      console.log(
        `${`insert 500 events, ${spread} dimension sets: trigger on / off`.padEnd(62)}median ${cost.on.toFixed(2)} / ${cost.off.toFixed(2)} ms  (+${(cost.on - cost.off).toFixed(2)} ms, ${((cost.on / cost.off - 1) * 100).toFixed(0)}%)`,
      );
    }
  } finally {
    await sql.end();
    await deployment.dispose();
  }
}

await main();
