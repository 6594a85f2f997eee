import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingClient, BillingError, type BalanceUpdate, type BillingClientOptions, type FetchLike, type UsageEvent } from '../../client/index.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, ledgerState, setupCatalogue } from '../support/usage-fixtures.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface SentBatch {
  events: Array<{ idempotencyKey: string; meterCode: string }>;
}

/**
 * A fetch that lets every request through to the real server and records what the client sent.
 * `around` may answer instead of the server, or break an attempt after the server answered.
 */
class RecordingFetch {
  readonly sent: SentBatch[] = [];
  readonly answers: string[] = [];

  constructor(private readonly around?: (attempt: number, forward: () => Promise<Response>) => Promise<Response>) {}

  readonly fetch: FetchLike = async (url, init) => {
    this.sent.push((JSON.parse(String(init.body)) as { variables: { input: SentBatch } }).variables.input);
    const forward = async () => {
      const res = await fetch(url, init);
      this.answers.push(await res.clone().text());
      return res;
    };
    return this.around ? this.around(this.sent.length, forward) : forward();
  };
}

/** Collects values and lets a test wait for one that matches, without sleeping. */
class Inbox<T> {
  readonly items: T[] = [];
  private waiters: Array<() => void> = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    this.waiters.splice(0).forEach((w) => w());
  };

  async waitFor(match: (item: T) => boolean): Promise<T> {
    for (;;) {
      const found = this.items.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

const event = (customerId: string, key?: string): UsageEvent => {
  const { idempotencyKey, ...rest } = gpt4oInput(customerId, key ?? '');
  return key ? { ...rest, idempotencyKey } : rest;
};

let t: TestApp;
const clients: BillingClient[] = [];

function clientFor(target: TestApp, options: Partial<BillingClientOptions> = {}): BillingClient {
  const client = new BillingClient({ url: target.url, apiKey: target.adminKey, retry: { baseDelayMs: 5, maxDelayMs: 50 }, ...options });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  t = await startTestApp();
  await setupCatalogue(t);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t?.close();
});

describe('the integrator client: idempotency', () => {
  it('makes up a key per event and reuses it on a retry, so a lost reply charges once', async () => {
    const c = await fundedCustomer(t, '10');
    // The server charges and answers; the reply is then lost, as when a connection drops.
    const http = new RecordingFetch(async (attempt, forward) => {
      const res = await forward();
      if (attempt === 1) throw new TypeError('fetch failed: socket hang up');
      return res;
    });
    const client = clientFor(t, { fetch: http.fetch, batch: { maxSize: 1 } });

    const result = await client.recordUsage(event(c.customerId));

    expect(http.sent).toHaveLength(2);
    const [first, retry] = http.sent.map((b) => b.events[0]!.idempotencyKey);
    expect(first).toMatch(UUID);
    expect(retry).toBe(first);
    expect(result).toMatchObject({ status: 'ACCEPTED', replayed: true, idempotencyKey: first });
    expect(result.event?.charged).toBe('0.25');
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '1', balance: '9750000000' });

    const next = await client.recordUsage(event(c.customerId));
    expect(next.idempotencyKey).toMatch(UUID);
    expect(next.idempotencyKey).not.toBe(first);
    expect(next.replayed).toBe(false);
  });

  it("keeps the caller's own key", async () => {
    const c = await fundedCustomer(t, '10');
    const client = clientFor(t);
    const once = await client.recordUsage(event(c.customerId, 'order-17'));
    const again = await client.recordUsage(event(c.customerId, 'order-17'));
    expect([once.idempotencyKey, once.replayed, again.replayed]).toEqual(['order-17', false, true]);
    expect(again.event?.id).toBe(once.event?.id);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '1', balance: '9750000000' });
  });
});

describe('the integrator client: batching', () => {
  it('sends a batch as soon as it is full', async () => {
    const c = await fundedCustomer(t, '10');
    const http = new RecordingFetch();
    // The time bound is far away: only the size bound can send these.
    const client = clientFor(t, { fetch: http.fetch, batch: { maxSize: 4, maxDelayMs: 600_000 } });

    const results = await Promise.all(Array.from({ length: 8 }, () => client.recordUsage(event(c.customerId))));

    expect(http.sent.map((b) => b.events.length)).toEqual([4, 4]);
    expect(results.every((r) => r.status === 'ACCEPTED')).toBe(true);
    expect(new Set(results.map((r) => r.event!.id)).size).toBe(8);
    expect(results.map((r) => r.idempotencyKey)).toEqual(http.sent.flatMap((b) => b.events.map((e) => e.idempotencyKey)));
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '8', balance: '8000000000' });
  });

  it('sends a batch that is not full once its time is up', async () => {
    const c = await fundedCustomer(t, '10');
    const http = new RecordingFetch();
    const client = clientFor(t, { fetch: http.fetch, batch: { maxSize: 100, maxDelayMs: 25 } });

    const firstThree = await Promise.all([1, 2, 3].map(() => client.recordUsage(event(c.customerId))));
    const fourth = await client.recordUsage(event(c.customerId));

    expect(http.sent.map((b) => b.events.length)).toEqual([3, 1]);
    expect([...firstThree, fourth].every((r) => r.status === 'ACCEPTED')).toBe(true);
  });

  it('close() sends what waits, then refuses new events', async () => {
    const c = await fundedCustomer(t, '10');
    const http = new RecordingFetch();
    const client = clientFor(t, { fetch: http.fetch, batch: { maxSize: 100, maxDelayMs: 600_000 } });

    const pending = [client.recordUsage(event(c.customerId)), client.recordUsage(event(c.customerId))];
    await client.close();

    expect(http.sent.map((b) => b.events.length)).toEqual([2]);
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual(['ACCEPTED', 'ACCEPTED']);
    await expect(client.recordUsage(event(c.customerId))).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it("settles each caller's promise with its own result or error", async () => {
    const rich = await fundedCustomer(t, '10');
    const poor = await fundedCustomer(t, '0');
    const http = new RecordingFetch();
    const client = clientFor(t, { fetch: http.fetch, batch: { maxSize: 4, maxDelayMs: 600_000 } });

    const [good, unknownMeter, refused, badQuantity] = await Promise.allSettled([
      client.recordUsage(event(rich.customerId)),
      client.recordUsage({ ...event(rich.customerId), meterCode: 'no_such_meter' }),
      client.recordUsage(event(poor.customerId)),
      // The server cannot read this variable and refuses the whole request: the client halves
      // the batch until the bad event fails alone.
      client.recordUsage({ ...event(rich.customerId), quantity: '1.2.3' }),
    ]);

    expect(good).toMatchObject({ status: 'fulfilled', value: { status: 'ACCEPTED' } });
    expect(unknownMeter).toMatchObject({ status: 'rejected', reason: { code: 'NOT_FOUND', retryable: false } });
    expect(refused).toMatchObject({ status: 'fulfilled', value: { status: 'REFUSED', refusal: { code: 'WALLET_INSUFFICIENT_FUNDS' } } });
    expect(badQuantity).toMatchObject({ status: 'rejected', reason: { code: 'VALIDATION_FAILED' } });
    expect((badQuantity as PromiseRejectedResult).reason).toBeInstanceOf(BillingError);
    expect(await ledgerState(t, rich.walletId!)).toMatchObject({ events: '1', balance: '9750000000' });
  });
});

describe('the integrator client: retries', () => {
  it('makes exactly one attempt for a code that is not retryable', async () => {
    const c = await fundedCustomer(t, '10');
    const poor = await fundedCustomer(t, '0');
    const retries: unknown[] = [];
    const cases: Array<[string, BillingClientOptions['apiKey'], UsageEvent]> = [
      ['NOT_FOUND', t.adminKey, { ...event(c.customerId), meterCode: 'no_such_meter' }],
      ['VALIDATION_FAILED', t.adminKey, { ...event(c.customerId), quantity: '-5' }],
      ['UNAUTHENTICATED', 'not-a-key', event(c.customerId)],
    ];
    for (const [code, apiKey, input] of cases) {
      const http = new RecordingFetch();
      const client = clientFor(t, { apiKey, fetch: http.fetch, onRetry: (info) => retries.push(info) });
      await expect(client.recordUsage(input), code).rejects.toMatchObject({ code, retryable: false });
      expect(http.sent, code).toHaveLength(1);
    }
    const http = new RecordingFetch();
    const refused = await clientFor(t, { fetch: http.fetch }).recordUsage(event(poor.customerId));
    expect(refused.refusal?.code).toBe('WALLET_INSUFFICIENT_FUNDS');
    expect(http.sent).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it('retries HTTP 503 and 429 answers with the same key, and charges once', async () => {
    const c = await fundedCustomer(t, '10');
    const http = new RecordingFetch(async (attempt, forward) => {
      if (attempt === 1) return new Response('upstream unavailable', { status: 503 });
      if (attempt === 2) return new Response('slow down', { status: 429, headers: { 'retry-after': '0' } });
      return forward();
    });
    const retries: number[] = [];
    const client = clientFor(t, { fetch: http.fetch, onRetry: (info) => retries.push(info.attempt) });

    const result = await client.recordUsage(event(c.customerId));

    expect(result).toMatchObject({ status: 'ACCEPTED', replayed: false });
    expect(retries).toEqual([2, 3]);
    expect(new Set(http.sent.map((b) => b.events[0]!.idempotencyKey)).size).toBe(1);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '1', balance: '9750000000' });
  });

  it('gives up after maxAttempts with the last error', async () => {
    const c = await fundedCustomer(t, '10');
    const http = new RecordingFetch(async () => new Response('bad gateway', { status: 502 }));
    const client = clientFor(t, { fetch: http.fetch, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    await expect(client.recordUsage(event(c.customerId))).rejects.toMatchObject({ code: 'HTTP_ERROR', status: 502, retryable: true });
    expect(http.sent).toHaveLength(3);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '0' });
  });

  it('retries SERVICE_UNAVAILABLE from a server whose Redis is cut, until it is back', { timeout: 60_000 }, async () => {
    const redisUrl = new URL(TEST_REDIS_URL);
    const redisProxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    await redisProxy.start();
    const cut = await startTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` } });
    try {
      await setupCatalogue(cut);
      const c = await fundedCustomer(cut, '10');
      await redisProxy.cut();
      // The first answer comes back from the cut server; then Redis is given back.
      const http = new RecordingFetch(async (attempt, forward) => {
        const res = await forward();
        if (attempt === 1) await redisProxy.restore();
        return res;
      });
      const client = clientFor(cut, { fetch: http.fetch, retry: { maxAttempts: 100, baseDelayMs: 50, maxDelayMs: 250 } });

      const result = await client.recordUsage(event(c.customerId));

      expect(http.answers[0]).toContain('SERVICE_UNAVAILABLE');
      expect(http.sent.length).toBeGreaterThanOrEqual(2);
      expect(result.status).toBe('ACCEPTED');
      expect(await ledgerState(cut, c.walletId!)).toMatchObject({ events: '1', balance: '9750000000' });
      await client.close();
    } finally {
      await cut.close();
      await redisProxy.stop();
    }
  });
});

describe('the integrator client: live balance', () => {
  it('subscribeBalance gets the snapshot, then the change recordUsage caused', async () => {
    const c = await fundedCustomer(t, '10');
    const client = clientFor(t);
    const updates = new Inbox<BalanceUpdate>();
    const errors: unknown[] = [];
    const unsubscribe = client.subscribeBalance({ walletId: c.walletId! }, updates.push, (e) => errors.push(e));

    const snapshot = await updates.waitFor((u) => u.cause === 'SNAPSHOT');
    expect(snapshot).toMatchObject({ walletId: c.walletId, balance: '10' });
    const recorded = await client.recordUsage(event(c.customerId));
    const usage = await updates.waitFor((u) => u.cause === 'USAGE');

    expect(recorded.status).toBe('ACCEPTED');
    expect(usage).toMatchObject({ walletId: c.walletId, customerId: c.customerId, balance: '9.75', change: '-0.25', previousSequence: snapshot.sequence });
    expect(errors).toEqual([]);
    unsubscribe();
  });

  it('by customer, and reports a refused key as UNAUTHENTICATED', async () => {
    const c = await fundedCustomer(t, '10');
    const client = clientFor(t);
    const updates = new Inbox<BalanceUpdate>();
    const unsubscribe = client.subscribeBalance({ customerId: c.customerId }, updates.push);
    expect((await updates.waitFor((u) => u.cause === 'SNAPSHOT')).walletId).toBe(c.walletId);
    unsubscribe();

    const errors = new Inbox<BillingError>();
    clientFor(t, { apiKey: 'not-a-key' }).subscribeBalance({ customerId: c.customerId }, () => undefined, errors.push);
    expect((await errors.waitFor(() => true)).code).toBe('UNAUTHENTICATED');
  });
});
