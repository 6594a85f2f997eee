/**
 * Period close at scale, in one run on this machine:
 *   - 1,000 postpaid customers on a monthly plan priced by the AI price book (ten lines per
 *     invoice: five models × input/output tokens), holding 2,000,000 usage events in one closed
 *     period (one customer holds BENCH_LARGEST of them), all recorded through recordUsageBatch;
 *   - `billing invoices close --at <after the grace period>`: wall time and events per second;
 *   - upcomingInvoice for the largest customer, which also holds BENCH_LARGEST events in the
 *     current period: median of 5 calls over HTTP.
 *
 *   npm run bench:invoices        (BENCH_KEEP=1 keeps the database for a look afterwards;
 *                                  BENCH_CUSTOMERS, BENCH_EVENTS, BENCH_LARGEST for smaller runs)
 *
 * Ends with one `summary:` line: period close events/s and the upcomingInvoice median against
 * their targets.
 */
import pg from 'pg';
import { fmt, Gql, pool, run, startDeployment } from './lib.js';

const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000_000);
const LARGEST = Number(process.env.BENCH_LARGEST ?? 200_000);
const BATCH = 1000;
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4', 'claude-haiku-4', 'gemini-2.5-flash'];
const TYPES = ['input', 'output'];
/** Targets: period close at least this many events/s; upcomingInvoice of the largest customer under this median. */
const CLOSE_TARGET = 200_000;
const UPCOMING_TARGET_MS = 100;

// The closed period is the calendar month before the current one; events go in its last days
// (usage may be at most 35 days old), and the close runs once its one-day grace is over.
const now = new Date();
const currentStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
const closedStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
const closedFrom = Math.max(closedStart.getTime(), now.getTime() - 30 * 86_400_000);
const closeAt = new Date(currentStart.getTime() + 86_400_000 + 1000);

function batches(customer: string, count: number, from: number, to: number, tag: string): string[] {
  const out: string[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const events = [];
    for (let j = start; j < Math.min(count, start + BATCH); j++) {
      const at = new Date(from + Math.floor(((to - from) * j) / count)).toISOString();
      const dimensions = { model: MODELS[j % MODELS.length], tokenType: TYPES[Math.floor(j / MODELS.length) % 2] };
      events.push({ customerId: customer, meterCode: 'llm_tokens', quantity: String(100 + ((j * 7919) % 4900)), dimensions, timestamp: at, idempotencyKey: `${tag}-${j}` });
    }
    out.push(JSON.stringify({ query: 'mutation($i: RecordUsageBatchInput!) { recordUsageBatch(input: $i) { acceptedCount results { status refusal { code message } } } }', variables: { i: { atomic: false, events } } }));
  }
  return out;
}

/** Records one batch; a refused event stops the benchmark (a run that priced nothing measures nothing). */
async function post(gql: Gql, body: string): Promise<void> {
  const res = await fetch(gql.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gql.key}` }, body });
  const json = (await res.json()) as { errors?: unknown; data?: { recordUsageBatch: { acceptedCount: number; results: Array<{ status: string; refusal: { code: string; message: string } | null }> } } };
  if (json.errors) throw new Error(JSON.stringify(json.errors));
  const refused = json.data!.recordUsageBatch.results.find((r) => r.status !== 'ACCEPTED');
  if (refused) throw new Error(`an event was not accepted (${refused.status}): ${JSON.stringify(refused.refusal)}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  if (closeAt.getTime() > now.getTime()) throw new Error('run this benchmark after the 2nd of a month (the closed period needs its grace day)');
  // The setup creates 2,000 customers and subscriptions with one ADMIN key as fast as it can:
  // lift the per-credential write and ingest budgets (what they guard is measured elsewhere).
  const deployment = await startDeployment('invoices', { INVOICE_CLOSE_INTERVAL_MS: '0', RATE_LIMIT_WRITE_PER_SECOND: '1000000', RATE_LIMIT_INGEST_PER_SECOND: '100000000' });
  const { url, env, key, server } = deployment;
  const sql = new pg.Pool({ connectionString: url, max: 2 });
  sql.on('error', () => {});
  try {
    const gql = new Gql(server.url, key);
    await gql.q('mutation { createMeter(input: {code: "llm_tokens", name: "LLM tokens", aggregation: SUM, property: "tokens", dimensions: ["model", "tokenType"]}) { meter { id } } }');
    await gql.q('mutation { createPlan(input: {code: "api", name: "API", currency: "USD", billingInterval: MONTHLY, baseFee: "99", charges: [{meterCode: "llm_tokens", ruleSetKey: "ai-price-book", groupBy: ["model", "tokenType"]}]}) { plan { id } } }');
    const customers: string[] = [];
    await pool(Array.from({ length: CUSTOMERS }, (_, i) => i), 16, async (i) => {
      const c = (await gql.q('mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } } }', { i: { externalId: `bench-${i}`, name: `Bench ${i}`, currency: 'USD' } })).createCustomer.customer.id as string;
      await gql.q('mutation($i: CreateSubscriptionInput!) { createSubscription(input: $i) { subscription { id } } }', { i: { customerId: c, planCode: 'api', startsAt: closedStart.toISOString(), baseFeeTiming: 'ARREARS' } });
      customers[i] = c;
    });
    const rest = Math.floor((EVENTS - LARGEST) / (CUSTOMERS - 1));
    const bodies = customers.flatMap((c, i) => batches(c, i === 0 ? LARGEST : rest, closedFrom, currentStart.getTime() - 1000, `closed-${i}`));
    bodies.push(...batches(customers[0]!, LARGEST, currentStart.getTime(), now.getTime() - 60_000, 'current'));
    console.log(`recording ${fmt(EVENTS + LARGEST)} events in ${bodies.length} batches…`);
    const t0 = performance.now();
    await pool(bodies, 4, (b) => post(gql, b));
    const recordSeconds = (performance.now() - t0) / 1000;
    const closed = Number((await sql.query('select count(*) from usage_event where period_start = $1', [closedStart])).rows[0].count);
    await sql.query('analyze');

    const t1 = performance.now();
    const out = await run(['invoices', 'close', '--at', closeAt.toISOString()], env);
    const closeSeconds = (performance.now() - t1) / 1000;
    const invoices = Number((await sql.query(`select count(*) from invoice where status = 'FINALIZED' and kind = 'PERIOD'`)).rows[0].count);
    const lines = Number((await sql.query('select count(*) from invoice_line')).rows[0].count);

    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await gql.q('query($c: ID!) { upcomingInvoice(customerId: $c) { invoice { total lines { amount } } projected { total } } }', { c: customers[0] });
      timings.push(performance.now() - t);
    }

    const line = (what: string, value: string) => console.log(`${what.padEnd(58)} ${value}`);
    console.log('');
    line('events recorded (recordUsageBatch, 1,000 per request)', `${fmt(EVENTS + LARGEST)} in ${recordSeconds.toFixed(1)} s`);
    line('events in the closed period', `${fmt(closed)} over ${fmt(CUSTOMERS)} customers (largest ${fmt(LARGEST)})`);
    line('billing invoices close (whole command)', `${closeSeconds.toFixed(2)} s  ${fmt(closed / closeSeconds)} events/s`);
    line('  invoices finalized / lines', `${fmt(invoices)} / ${fmt(lines)}   (${out.trim()})`);
    line(`upcomingInvoice, largest customer (${fmt(LARGEST)} events)`, `median ${median(timings).toFixed(0)} ms  (min ${Math.min(...timings).toFixed(0)}, max ${Math.max(...timings).toFixed(0)})`);
    const closeRate = closed / closeSeconds;
    const upcoming = median(timings);
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    console.log(
      `\nsummary: period close ${fmt(closeRate)} events/s (target >= ${fmt(CLOSE_TARGET)}: ${verdict(closeRate >= CLOSE_TARGET)}); ` +
        `upcomingInvoice median ${upcoming.toFixed(1)} ms with ${fmt(LARGEST)} events (target < ${UPCOMING_TARGET_MS} ms: ${verdict(upcoming < UPCOMING_TARGET_MS)}); ` +
        `${fmt(CUSTOMERS)} customers, ${fmt(closed)} events closed`,
    );
  } finally {
    await sql.end();
    await deployment.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
