/**
 * Live balance updates: how long after the recordUsage reply a subscriber has the change.
 *
 * 1,000 WebSocket subscriptions (walletBalanceChanged, one per socket, as browser tabs have
 * them) over 100 customers, 10 each; recordUsage at a steady rate on random customers. For each
 * reply, the time until each subscriber of that wallet receives the change with the balance the
 * reply reported (a change the subscriber got before the reply counts as 0). Customers take
 * turns, so two events of one wallet rarely share a commit (whose intermediate balance is never
 * pushed: only the commit's last). Prints p50 and p99 of that delay and the server's resident
 * memory.
 *
 *   npm run bench:live        (BENCH_SECONDS, BENCH_RATE events/s, BENCH_CUSTOMERS, BENCH_SUBSCRIBERS per customer)
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { fmt, Gql, sleep, startDeployment } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 100);
const PER_CUSTOMER = Number(process.env.BENCH_SUBSCRIBERS ?? 10);
const WARMUP = 3;
const stamp = Date.now();

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

async function residentMemory(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)![1]) / 1024 / 1024;
}

async function main() {
  const deployment = await startDeployment('live');
  const { key, server } = deployment;
  const base = server.url.replace(/\/graphql$/, '');
  const clients: Client[] = [];
  try {
    const gql = new Gql(server.url, key);
    await gql.q('mutation { createMeter(input: {code: "llm_tokens", name: "LLM tokens", aggregation: SUM, property: "tokens", dimensions: ["model", "tokenType"]}) { meter { id } } }');
    await gql.q('mutation { createPlan(input: {code: "api", name: "API", currency: "USD", billingInterval: MONTHLY, baseFee: "0", charges: [{meterCode: "llm_tokens", ruleSetKey: "ai-price-book"}]}) { plan { id } } }');
    const wallets: Array<{ customerId: string; walletId: string }> = [];
    for (let i = 0; i < CUSTOMERS; i++) {
      const c = (await gql.q('mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } } }', { i: { externalId: `live-${i}`, name: `Live ${i}`, currency: 'USD' } })).createCustomer.customer.id as string;
      await gql.q('mutation($i: CreateSubscriptionInput!) { createSubscription(input: $i) { subscription { id } } }', { i: { customerId: c, planCode: 'api', startsAt: new Date(Date.now() - 3_600_000).toISOString() } });
      const w = (await gql.q('mutation($i: CreateWalletInput!) { createWallet(input: $i) { wallet { id } } }', { i: { customerId: c } })).createWallet.wallet.id as string;
      await gql.q('mutation($i: TopUpWalletInput!) { topUpWallet(input: $i) { balanceAfter } }', { i: { walletId: w, amount: '1000000', idempotencyKey: `fund-${i}` } });
      wallets.push({ customerId: c, walletId: w });
    }
    const memoryBefore = await residentMemory(base);

    // Arrivals per wallet and balance: when each subscriber saw that balance.
    const seen = new Map<string, number[]>();
    let snapshots = 0;
    const wsUrl = server.url.replace(/^http/, 'ws');
    await Promise.all(
      wallets.flatMap((w) =>
        Array.from({ length: PER_CUSTOMER }, async () => {
          const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
          clients.push(client);
          await new Promise<void>((resolve, reject) => {
            client.subscribe(
              { query: 'subscription($w: ID) { walletBalanceChanged(walletId: $w) { walletId balance cause } }', variables: { w: w.walletId } },
              {
                next: ({ data, errors }) => {
                  if (errors) return reject(new Error(JSON.stringify(errors)));
                  const m = (data as { walletBalanceChanged: { walletId: string; balance: string; cause: string } }).walletBalanceChanged;
                  if (m.cause === 'SNAPSHOT') {
                    snapshots++;
                    return resolve();
                  }
                  const k = `${m.walletId}|${m.balance}`;
                  seen.set(k, [...(seen.get(k) ?? []), performance.now()]);
                },
                error: reject,
                complete: () => undefined,
              },
            );
          });
        }),
      ),
    );
    const memoryOpen = await residentMemory(base);
    console.log(`${snapshots} subscriptions open over ${clients.length} sockets; recording ${RATE} events/s for ${WARMUP} + ${SECONDS} s (the first ${WARMUP} not measured)…`);

    // Steady load: one request every 1000/RATE ms, without waiting for the previous one. The
    // first WARMUP seconds (every customer's first events load its state; the JIT warms up) are
    // not measured.
    const replies: Array<{ walletId: string; balance: string; at: number }> = [];
    let n = 0;
    let failed = 0;
    const start = performance.now();
    const measureFrom = start + WARMUP * 1000;
    const end = measureFrom + SECONDS * 1000;
    const inFlight: Array<Promise<void>> = [];
    for (let next = start; next < end; next += 1000 / RATE) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      const w = wallets[n % wallets.length]!;
      const i = n++;
      const measured = next >= measureFrom;
      inFlight.push(
        gql
          .q('mutation($i: RecordUsageInput!) { recordUsage(input: $i) { status wallet { balance } } }', {
            i: { customerId: w.customerId, meterCode: 'llm_tokens', quantity: '1000', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: `live-${stamp}-${i}` },
          })
          .then(
            (d) => {
              if (measured && d.recordUsage.status === 'ACCEPTED') replies.push({ walletId: w.walletId, balance: d.recordUsage.wallet.balance, at: performance.now() });
            },
            () => void failed++,
          ),
      );
    }
    await Promise.all(inFlight);
    await sleep(1_000);
    const memoryAfter = await residentMemory(base);

    const delays: number[] = [];
    let early = 0;
    let missing = 0;
    for (const r of replies) {
      const arrivals = seen.get(`${r.walletId}|${r.balance}`) ?? [];
      missing += PER_CUSTOMER - arrivals.length;
      for (const at of arrivals) {
        if (at < r.at) early++;
        delays.push(Math.max(0, at - r.at));
      }
    }
    delays.sort((a, b) => a - b);
    const line = (label: string, value: string) => console.log(`${label.padEnd(58)}${value}`);
    console.log('');
    line('recordUsage replies (measured)', `${fmt(replies.length)} (${(replies.length / SECONDS).toFixed(0)}/s; ${fmt(failed)} requests failed)`);
    line('balance changes received by subscribers', `${fmt(delays.length)} (${fmt(missing)} missing; ${fmt(early)} before the reply)`);
    line('reply → subscriber receipt, p50', `${percentile(delays, 50).toFixed(2)} ms`);
    line('reply → subscriber receipt, p90', `${percentile(delays, 90).toFixed(2)} ms`);
    line('reply → subscriber receipt, p99', `${percentile(delays, 99).toFixed(2)} ms`);
    line('reply → subscriber receipt, max', `${delays.at(-1)!.toFixed(2)} ms`);
    line('server resident memory: idle / 1,000 open / after the run', `${memoryBefore.toFixed(0)} / ${memoryOpen.toFixed(0)} / ${memoryAfter.toFixed(0)} MiB`);
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await deployment.dispose();
  }
}

await main();
