/**
 * What a lifted customer token can do to the server: 1,000 aliases of `upcomingInvoice`, 1,000
 * aliases of `usage` by hour over a month, and the p99 of another customer's 200 concurrent
 * `recordUsage` calls while four tokens send such floods. Prints time, response size and the
 * server's peak resident memory for each flood, and the p99 idle and under the flood.
 *
 *   npm run bench:attack             (BENCH_EVENTS: events of the victim, default 2000)
 */
import { fmt, Gql, sleep, startDeployment } from './lib.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const d = await startDeployment('attack');
const admin = new Gql(d.server.url, d.key);
const metrics = d.server.url.replace('/graphql', '/metrics');

async function rss(): Promise<number> {
  const text = await (await fetch(metrics)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Runs fn while sampling the server's memory; returns its result, the time it took and the peak. */
async function watched<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number; peak: number }> {
  let peak = await rss();
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, await rss().catch(() => 0));
      await sleep(50);
    }
  })();
  const start = performance.now();
  const result = await fn();
  const ms = performance.now() - start;
  done = true;
  await sampler;
  return { result, ms, peak };
}

try {
  await admin.q(`mutation { createMeter(input: { code: "llm_tokens", name: "Tokens", aggregation: SUM, property: "tokens", dimensions: ["model", "tokenType"] }) { meter { id } } }`);
  await admin.q(`mutation { createPlan(input: { code: "api", name: "API", currency: "USD", billingInterval: MONTHLY, baseFee: "10", charges: [{ meterCode: "llm_tokens", ruleSetKey: "ai-price-book", groupBy: ["model"] }] }) { plan { id } } }`);
  const customer = async (name: string) => {
    const c = (await admin.q(`mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } } }`, { i: { externalId: name, name, currency: 'USD' } })).createCustomer.customer.id as string;
    await admin.q(`mutation($i: CreateSubscriptionInput!) { createSubscription(input: $i) { subscription { id } } }`, { i: { customerId: c, planCode: 'api', startsAt: new Date(Date.now() - 86_400_000).toISOString() } });
    const w = (await admin.q(`mutation($i: CreateWalletInput!) { createWallet(input: $i) { wallet { id } } }`, { i: { customerId: c } })).createWallet.wallet.id as string;
    await admin.q(`mutation($i: TopUpWalletInput!) { topUpWallet(input: $i) { wallet { id } } }`, { i: { walletId: w, amount: '100000', idempotencyKey: `top-${name}` } });
    return c;
  };
  const victims = await Promise.all(['victim-0', 'victim-1', 'victim-2', 'victim-3'].map(customer));
  const payer = await customer('payer');
  for (const v of victims) {
    for (let b = 0; b < EVENTS / 500; b++) {
      const events = Array.from({ length: 500 }, (_, i) => ({ customerId: v, meterCode: 'llm_tokens', quantity: '1000', dimensions: { model: i % 2 ? 'gpt-4o' : 'gpt-4o-mini', tokenType: 'input' }, idempotencyKey: `seed-${v}-${b}-${i}` }));
      await admin.q(`mutation($i: RecordUsageBatchInput!) { recordUsageBatch(input: $i) { acceptedCount } }`, { i: { events, atomic: false } });
    }
  }
  const tokens = await Promise.all(victims.map(async (v) => (await admin.q(`mutation($i: CreateCustomerTokenInput!) { createCustomerToken(input: $i) { token } }`, { i: { customerId: v, ttlSeconds: 3600 } })).createCustomerToken.token as string));

  const aliases = (n: number, field: string) => `query { ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
  const from = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const to = new Date().toISOString();
  const floods = {
    'upcomingInvoice ×1000': (v: string) => aliases(1000, `upcomingInvoice(customerId: "${v}") { projected { total } invoice { total } }`),
    'usage by hour ×1000': (v: string) => aliases(1000, `usage(customerId: "${v}", from: "${from}", to: "${to}", granularity: HOUR, groupBy: { dimensions: ["model"] }) { buckets { start groups { quantity amount } } }`),
  };
  const send = async (token: string, query: string) => {
    const res = await fetch(d.server.url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const text = await res.text();
    const code = (JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }> }).errors?.[0]?.extensions?.code ?? 'ok';
    return { bytes: text.length, code };
  };
  console.log(`server memory at rest: ${fmt((await rss()) / 2 ** 20)} MiB`);
  for (const [name, query] of Object.entries(floods)) {
    const { result, ms, peak } = await watched(() => send(tokens[0]!, query(victims[0]!)));
    console.log(`${name}: ${fmt(ms)} ms, ${fmt(result.bytes / 1024)} KiB answered (${result.code}), server peak ${fmt(peak / 2 ** 20)} MiB`);
  }

  const burst = async (tag: string) => {
    const latencies: number[] = [];
    let accepted = 0;
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const start = performance.now();
        const r = await admin
          .q(`mutation($i: RecordUsageInput!) { recordUsage(input: $i) { status } }`, { i: { customerId: payer, meterCode: 'llm_tokens', quantity: '10', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: `${tag}-${i}` } })
          .catch(() => ({ recordUsage: { status: 'ERROR' } }));
        latencies.push(performance.now() - start);
        if (r.recordUsage.status === 'ACCEPTED') accepted++;
      }),
    );
    latencies.sort((a, b) => a - b);
    return { p50: latencies[99]!, p99: latencies[197]!, accepted };
  };
  await burst('warm');
  const idle = await burst('idle');
  let stop = false;
  const flood = Promise.all(
    tokens.flatMap((token, i) => [floods['upcomingInvoice ×1000'], floods['usage by hour ×1000']].map(async (q) => {
      while (!stop) await send(token, q(victims[i]!)).catch(() => undefined);
    })),
  );
  await sleep(500);
  const loaded = await burst('loaded');
  stop = true;
  await flood;
  console.log(`recordUsage ×200 concurrent, idle: p50 ${fmt(idle.p50)} ms, p99 ${fmt(idle.p99)} ms, ${idle.accepted} accepted`);
  console.log(`recordUsage ×200 concurrent, under the floods of 4 tokens: p50 ${fmt(loaded.p50)} ms, p99 ${fmt(loaded.p99)} ms, ${loaded.accepted} accepted (p99 ${(loaded.p99 / idle.p99).toFixed(2)}× idle)`);
} finally {
  await d.dispose();
}
