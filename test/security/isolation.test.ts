import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateCustomerTokenDocument, RecordUsageBatchDocument, RecordUsageDocument } from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

/**
 * Reads cannot starve money: customer tokens flood the server with the heaviest reads their
 * limits allow while another customer's 200 concurrent recordUsage calls all succeed, their p99
 * within 3× of the same burst on an idle server (a ratio measured in the same run).
 */
let t: TestApp;
let payer: Funded;
const readers: Array<{ customer: Funded; token: string }> = [];

beforeAll(async () => {
  t = await startTestApp();
  await setupCatalogue(t);
  payer = await fundedCustomer(t, '1000');
  for (let r = 0; r < 4; r++) {
    const customer = await fundedCustomer(t, '1000');
    for (let b = 0; b < 3; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({ ...gpt4oInput(customer.customerId, `seed-${r}-${b}-${i}`, '100'), dimensions: { model: i % 2 ? 'gpt-4o' : 'gpt-4o-mini', tokenType: 'input' } }));
      await t.admin.ok(RecordUsageBatchDocument, { input: { events, atomic: false } });
    }
    const { token } = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId: customer.customerId, ttlSeconds: 3600 } })).createCustomerToken;
    readers.push({ customer, token });
  }
}, 180_000);
afterAll(() => t?.close());

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.99) - 1]!;

async function burst(tag: string): Promise<{ latencies: number[]; accepted: number }> {
  const latencies: number[] = [];
  const replies = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const start = performance.now();
      const r = await t.admin.request(RecordUsageDocument, { input: gpt4oInput(payer.customerId, `${tag}-${i}`, '10') });
      latencies.push(performance.now() - start);
      return r;
    }),
  );
  return { latencies, accepted: replies.filter((r) => r.data?.recordUsage.status === 'ACCEPTED').length };
}

/** The heaviest reads a customer token may send, over and over until stopped. */
function flood(stop: { done: boolean }) {
  const heavy = (id: string) => `query {
    a: upcomingInvoice(customerId: "${id}") { projected { total } invoice { total subtotal } }
    b: usage(customerId: "${id}", from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z", granularity: MONTH, groupBy: { dimensions: ["model"] }) { totals { amount } buckets { groups { amount quantity } } }
    c: currentPeriod(customerId: "${id}") { spend { amount projected } }
  }`;
  const counts = { ok: 0, limited: 0, other: 0 };
  const loops = readers.flatMap(({ customer, token }) =>
    Array.from({ length: 4 }, async () => {
      while (!stop.done) {
        const res = await fetch(t.url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: heavy(customer.customerId) }) });
        const body = (await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
        const code = body.errors?.[0]?.extensions?.code;
        if (!code) counts.ok++;
        else if (code === 'RATE_LIMITED') counts.limited++;
        else counts.other++;
      }
    }),
  );
  return { counts, done: Promise.all(loops) };
}

describe('reads cannot starve money', () => {
  it('200 concurrent recordUsage calls all succeed under a read flood, p99 within 3× of idle', { timeout: 120_000 }, async () => {
    await burst('warm');
    const idle = await burst('idle');
    const stop = { done: false };
    const reads = flood(stop);
    await new Promise((r) => setTimeout(r, 500));
    const loaded = await burst('loaded');
    stop.done = true;
    await reads.done;
    expect(idle.accepted).toBe(200);
    expect(loaded.accepted).toBe(200);
    expect(reads.counts).toMatchObject({ other: 0 });
    expect(reads.counts.ok).toBeGreaterThan(0);
    expect(reads.counts.other).toBe(0);
    expect(p99(loaded.latencies)).toBeLessThanOrEqual(3 * p99(idle.latencies));
  });
});
