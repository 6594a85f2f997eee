import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordUsageDocument, type RecordUsageMutation } from '../generated/graphql.js';
import type { GraphQLResult } from '../support/graphql-client.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, ledgerState, setupCatalogue } from '../support/usage-fixtures.js';

/**
 * The reservation store loses everything (FLUSHDB: a restart without persistence, a failover to
 * an empty replica) at a random moment of a burst, round after round. PostgreSQL is the record:
 * a rebuild must never install a snapshot older than a commit it missed, so every round ends
 * exact.
 */
const ROUNDS = 50;
const FUNDED = 12; // events each customer can pay for (0.25 each)
const SENT = 30; // events each round sends, concurrently

// A Redis database of its own, so FLUSHDB touches nothing else.
const DB = `${TEST_REDIS_URL}/10`;
let t: TestApp;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(DB);
  await redis.flushdb();
  t = await startTestApp({ env: { REDIS_URL: DB, SWEEP_INTERVAL_MS: '0' } });
  await setupCatalogue(t);
});
afterAll(async () => {
  await t?.close();
  await redis?.flushdb();
  redis?.disconnect();
});

/** Sends `inputs` with `width` requests in flight, flushing the store when the `flushAt`-th one is sent. */
async function burst(inputs: ReturnType<typeof gpt4oInput>[], width: number, flushAt: number) {
  const replies: Array<GraphQLResult<RecordUsageMutation>> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < inputs.length) {
        const i = next++;
        if (i === flushAt) await redis.flushdb();
        replies[i] = await t.admin.request(RecordUsageDocument, { input: inputs[i]! });
      }
    }),
  );
  return replies;
}

describe('a store flushed at a random moment of a burst', () => {
  it(`ends every one of ${ROUNDS} rounds exact: N accepted, balance 0, every refusal saying available 0, no drift`, { timeout: 240_000 }, async () => {
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const c = await fundedCustomer(t, String(FUNDED * 0.25));
      const inputs = Array.from({ length: SENT }, (_, i) => gpt4oInput(c.customerId, `r${round}-${i}`));
      const replies = await burst(inputs, 6, Math.floor(Math.random() * SENT));
      const accepted = replies.filter((r) => r.data?.recordUsage.status === 'ACCEPTED').length;
      const refusals = replies.filter((r) => r.data && r.data.recordUsage.status !== 'ACCEPTED').map((r) => r.data!.recordUsage.refusal);
      const errors = replies.filter((r) => r.errors?.length).map((r) => r.errors![0]!.extensions?.code);
      const state = await ledgerState(t, c.walletId!);
      const wrongRefusals = refusals.filter((x) => x?.code !== 'WALLET_INSUFFICIENT_FUNDS' || x.available !== '0').map((x) => `${x?.code} available ${x?.available}`);
      if (accepted !== FUNDED || state.balance !== '0' || state.events !== String(FUNDED) || wrongRefusals.length > 0 || errors.length > 0) {
        failures.push(`round ${round}: ${accepted} accepted, balance ${state.balance}, refusals ${JSON.stringify(wrongRefusals)}, errors ${JSON.stringify(errors)}`);
      }
    }
    const report = await t.app.services.reconciler.run(false);
    expect(failures).toEqual([]);
    expect(report.drifts).toEqual([]);
  });
});

describe('spending caps when the store forgets', () => {
  it('a flush during a burst at the cap lets no postpaid spend past it, round after round', { timeout: 120_000 }, async () => {
    const failures: string[] = [];
    for (let round = 0; round < 10; round++) {
      const c = await fundedCustomer(t, null, { spendingCap: String(FUNDED * 0.25) });
      const inputs = Array.from({ length: SENT }, (_, i) => gpt4oInput(c.customerId, `cap${round}-${i}`));
      const replies = await burst(inputs, 6, Math.floor(Math.random() * SENT));
      const accepted = replies.filter((r) => r.data?.recordUsage.status === 'ACCEPTED').length;
      const codes = [...new Set(replies.filter((r) => r.data?.recordUsage.status !== 'ACCEPTED').map((r) => r.data?.recordUsage.refusal?.code ?? r.errors?.[0]?.extensions?.code))];
      const [spent] = await t.app.sql.query<{ charged: string }>('select coalesce(sum(charged), 0)::text as charged from usage_event where customer_id = $1', [c.customerId]);
      if (accepted !== FUNDED || spent!.charged !== String(BigInt(FUNDED) * 250_000_000n) || codes.join() !== 'SPENDING_LIMIT_REACHED') {
        failures.push(`round ${round}: ${accepted} accepted, spent ${spent!.charged}, refusals ${codes.join()}`);
      }
    }
    expect(failures).toEqual([]);
    expect((await t.app.services.reconciler.run(false)).drifts).toEqual([]);
  });

  it('PostgreSQL refuses spend past the cap even when the store has forgotten it, and the store is rebuilt', async () => {
    const c = await fundedCustomer(t, null, { spendingCap: '1' });
    for (let i = 0; i < 4; i++) expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `full-${i}`) })).recordUsage.status).toBe('ACCEPTED');
    // The store forgets this period's spend (a lost key, a bad restore): it would let more through.
    const periods = await redis.keys(`${t.redisPrefix}{c:${c.customerId}}:p:*`);
    for (const key of periods) await redis.hset(key, 'sp:USD', '0');
    const over = (await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'over') })).recordUsage;
    expect(over).toMatchObject({ status: 'REFUSED', refusal: { code: 'SPENDING_LIMIT_REACHED' } });
    const [spent] = await t.app.sql.query<{ charged: string }>('select sum(charged)::text as charged from usage_event where customer_id = $1', [c.customerId]);
    expect(spent!.charged).toBe('1000000000');
    // The store was rebuilt from PostgreSQL: the next refusal comes from it, with its figures.
    const again = (await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'again') })).recordUsage;
    expect(again).toMatchObject({ status: 'REFUSED', refusal: { code: 'SPENDING_LIMIT_REACHED' } });
    expect((await t.app.services.reconciler.run(false)).drifts).toEqual([]);
  });
});
