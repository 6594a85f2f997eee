import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlertDefinitionsDocument,
  CloseInvoicesDocument,
  CreateAlertDefinitionDocument,
  CreateApiKeyDocument,
  CurrentPeriodDocument,
  InvoicesDocument,
  MarkInvoicePaidDocument,
  RecordUsageDocument,
  UpcomingInvoiceDocument,
  UsageDocument,
} from '../generated/graphql.js';
import type { TestClient } from '../support/graphql-client.js';
import { startPgReplicaPair, type PgReplicaPair } from '../support/pg-replica.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

/** A replica further behind than this serves nothing (short, so that a test can see it happen). */
const MAX_LAG_MS = 3_000;

let pair: PgReplicaPair;
let t: TestApp;
let c: Funded;
/** A CUSTOMER key of c's, as a dashboard holds: it reads and never writes. */
let reader: TestClient;
/** Another ADMIN key, which records usage as CloudEvents only. */
let ingestKey: string;
let seq = 0;

beforeAll(async () => {
  pair = await startPgReplicaPair();
  try {
    // A new, empty database on the primary: the app migrates it at start, and the replica gets
    // the schema only by replication.
    t = await startTestApp({
      store: 'memory',
      db: { name: 'billing', url: pair.primaryUrl, drop: async () => undefined },
      env: {
        DATABASE_READ_URL: pair.replicaUrl,
        MIGRATE_ON_START: 'true',
        READ_AFTER_WRITE_WAIT_MS: '200',
        READ_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
        READ_REPLICA_CHECK_MS: '100',
        SWEEP_INTERVAL_MS: '0',
        STORE_CHECK_INTERVAL_MS: '0',
        INVOICE_CLOSE_INTERVAL_MS: '0',
        OUTBOX_RELAY_MS: '0',
      },
    });
  } catch (err) {
    await pair.stop();
    throw err;
  }
  await setupCatalogue(t);
  c = await fundedCustomer(t, '100');
  const key = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'dashboard', role: 'CUSTOMER', customerId: c.customerId } })).createApiKey;
  reader = t.client(key.secret);
  ingestKey = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'cloud events', role: 'ADMIN' } })).createApiKey.secret;
});
afterAll(async () => {
  await t?.close();
  await pair?.stop();
});

/** Events in c's usage report, as `client` reads it. */
async function usageEvents(client: TestClient): Promise<string> {
  const now = Date.now();
  const { usage } = await client.ok(UsageDocument, { customerId: c.customerId, from: new Date(now - 2 * 86_400_000).toISOString(), to: new Date(now + 86_400_000).toISOString(), granularity: 'DAY' });
  return String(usage.totals[0]?.events ?? 0);
}

const record = () => t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, `rr-${seq++}`) });

/** c's events, counted on the primary. */
async function eventsOnPrimary(): Promise<string> {
  return (await pair.query<{ n: string }>('primary', 'select count(*)::text as n from usage_event where customer_id = $1', [c.customerId]))[0]!.n;
}

async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the replica has replayed everything the primary has flushed. */
async function caughtUp(): Promise<void> {
  const [{ lsn }] = (await pair.query<{ lsn: string }>('primary', 'select pg_current_wal_flush_lsn()::text as lsn')) as [{ lsn: string }];
  await eventually('the replica to catch up', async () => (await pair.query<{ ok: boolean }>('replica', 'select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [lsn]))[0]!.ok, (ok) => ok);
}

/** Runs fn with the replica's replay paused: it answers, with what it had when paused. */
async function replayPaused(fn: () => Promise<void>): Promise<void> {
  await caughtUp();
  await pair.query('replica', 'select pg_wal_replay_pause()');
  await eventually('replay to pause', async () => (await pair.query<{ s: string }>('replica', 'select pg_get_wal_replay_pause_state() as s'))[0]!.s, (s) => s === 'paused');
  try {
    await fn();
  } finally {
    await pair.query('replica', 'select pg_wal_replay_resume()').catch(() => undefined);
  }
}

async function readyz(): Promise<{ status: number; body: any }> {
  const res = await fetch(t.url.replace('/graphql', '/readyz'));
  return { status: res.status, body: await res.json() };
}

/** billing_read_replica_reads_total for one target and reason. */
async function replicaReads(target: string, reason: string): Promise<number> {
  const text = await (await fetch(t.url.replace('/graphql', '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith(`billing_read_replica_reads_total{target="${target}",reason="${reason}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('a read replica (DATABASE_READ_URL)', () => {
  it('is migrated by replication only, reached by the read pool alone, and reported by /readyz', async () => {
    await record();
    await caughtUp();
    const migrations = 'select name from mikro_orm_migrations order by name';
    const onPrimary = await pair.query('primary', migrations);
    expect(onPrimary.length).toBeGreaterThan(0);
    expect(await pair.query('replica', migrations)).toEqual(onPrimary);
    expect(await pair.query('replica', 'select pg_is_in_recovery() as r')).toEqual([{ r: true }]);

    expect(await usageEvents(reader)).toBe('1');
    expect((await reader.request(UpcomingInvoiceDocument, { customerId: c.customerId })).errors).toBeUndefined();
    const sessions = await pair.query<{ application_name: string }>(
      'replica',
      "select application_name from pg_stat_activity where datname = 'billing' and backend_type = 'client backend' and pid <> pg_backend_pid()",
    );
    expect(sessions.length).toBeGreaterThan(0);
    expect(new Set(sessions.map((s) => s.application_name))).toEqual(new Set(['billing-read']));

    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.checks.readReplica).toMatchObject({ state: 'ok', lagBytes: expect.any(Number), lagMs: expect.any(Number) });
  });

  it("answers reads from the replica, and a caller who just wrote with its own writes", async () => {
    await caughtUp();
    const before = await usageEvents(reader);
    expect(before).toBe(await eventsOnPrimary());
    const eventsUrl = t.url.replace('/graphql', '/v1/events');
    const readAfterWrite = await replicaReads('primary', 'read_after_write');
    await replayPaused(async () => {
      await record();
      await t.admin.ok(CreateAlertDefinitionDocument, { input: { metric: 'PERIOD_SPEND', customerId: c.customerId, currency: 'USD', threshold: '50' } });
      // The dashboard's key has written nothing: it gets the replica's answer, from before the pause.
      expect(await usageEvents(reader)).toBe(before);
      expect((await reader.ok(CurrentPeriodDocument, { customerId: c.customerId })).currentPeriod.spend[0]!.events).toBe(Number(before));
      expect((await reader.ok(AlertDefinitionsDocument, { customerId: c.customerId })).alertDefinitions.nodes).toEqual([]);
      // The key that wrote sees what it wrote: the replica has not replayed it, so the primary answers.
      expect(await usageEvents(t.admin)).toBe(String(Number(before) + 1));
      expect((await t.admin.ok(AlertDefinitionsDocument, { customerId: c.customerId })).alertDefinitions.nodes).toHaveLength(1);
      // Usage sent as CloudEvents counts as a write of its key too.
      expect(await usageEvents(t.client(ingestKey))).toBe(before);
      const res = await fetch(eventsUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${ingestKey}` },
        body: JSON.stringify({ specversion: '1.0', type: 'llm_tokens', id: `rr-ce-${seq++}`, source: 'test', subject: c.externalId, time: new Date(Date.now() - 1_000).toISOString(), data: { tokens: '1000', model: 'gpt-4o', tokenType: 'input' } }),
      });
      expect(((await res.json()) as { acceptedCount: number }).acceptedCount).toBe(1);
      expect(await usageEvents(t.client(ingestKey))).toBe(String(Number(before) + 2));
      expect(await usageEvents(reader)).toBe(before);
    });
    expect(await replicaReads('primary', 'read_after_write')).toBeGreaterThanOrEqual(readAfterWrite + 3);
    // Replay resumed: the dashboard catches up.
    await eventually('the replica to show the writes', () => usageEvents(reader), (n) => n === String(Number(before) + 2));
  });

  it("decides and answers a payment on the primary while the customer's own key reads the replica", async () => {
    const old = await fundedCustomer(t, null, { plan: 'hybrid', startsAt: new Date(Date.now() - 40 * 86_400_000) });
    const key = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'old dashboard', role: 'CUSTOMER', customerId: old.customerId } })).createApiKey;
    await t.admin.ok(CloseInvoicesDocument, {});
    const invoices = (await t.admin.ok(InvoicesDocument, { customerId: old.customerId })).invoices.nodes;
    const invoice = invoices.find((i) => i.status === 'FINALIZED')!;
    expect(invoice).toBeDefined();
    await replayPaused(async () => {
      const paid = (await t.admin.ok(MarkInvoicePaidDocument, { input: { invoiceId: invoice.id, paymentReference: 'wire-1' } })).markInvoicePaid.invoice;
      expect(paid).toMatchObject({ id: invoice.id, status: 'PAID', paymentReference: 'wire-1' });
      // The same payment again is recognised from the primary's copy, not refused for the replica's FINALIZED.
      expect((await t.admin.ok(MarkInvoicePaidDocument, { input: { invoiceId: invoice.id, paymentReference: 'wire-1' } })).markInvoicePaid.invoice.status).toBe('PAID');
      const seen = (await t.client(key.secret).ok(InvoicesDocument, { customerId: old.customerId, first: 5 })).invoices.nodes.find((i) => i.id === invoice.id);
      expect(seen?.status).toBe('FINALIZED');
    });
  });

  it('sends reads to the primary while the replica lags beyond READ_REPLICA_MAX_LAG_MS', async () => {
    await replayPaused(async () => {
      await record();
      const lagging = await eventually('the replica to be reported lagging', readyz, (r) => r.body.checks.readReplica.state === 'lagging');
      expect(lagging.status).toBe(200);
      expect(lagging.body.checks.readReplica.lagMs).toBeGreaterThan(MAX_LAG_MS);
      const n = await eventsOnPrimary();
      const fromLagging = await replicaReads('primary', 'replica_lagging');
      // The dashboard's key now reads the primary: it sees the write it did not make.
      expect(await usageEvents(reader)).toBe(n);
      expect(await replicaReads('primary', 'replica_lagging')).toBeGreaterThan(fromLagging);
    });
    await eventually('the replica to serve again', readyz, (r) => r.body.checks.readReplica.state === 'ok');
  });

  it('answers reads from the primary while the replica is down, and stays ready', async () => {
    await record();
    const n = await eventsOnPrimary();
    await pair.stopReplica();
    try {
      // The first read may find the replica gone before a check does: the primary answers it too.
      expect(await usageEvents(reader)).toBe(n);
      const down = await eventually('the replica to be reported unavailable', readyz, (r) => r.body.checks.readReplica.state === 'unavailable');
      expect(down.status).toBe(200);
      expect(down.body.status).toBe('ready');
      expect(await usageEvents(reader)).toBe(n);
      expect((await reader.ok(CurrentPeriodDocument, { customerId: c.customerId })).currentPeriod.spend[0]!.events).toBe(Number(n));
      expect((await replicaReads('primary', 'replica_unavailable')) + (await replicaReads('primary', 'replica_error'))).toBeGreaterThan(0);
    } finally {
      await pair.startReplica();
    }
    await eventually('the replica to serve again', readyz, (r) => r.body.checks.readReplica.state === 'ok');
    expect(await usageEvents(reader)).toBe(n);
  });
});
