import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Role } from '../../src/modules/api-keys/principal.pure.js';
import { InvoicePaymentStatus } from '../../src/modules/invoices/invoice.record.js';
import { WEBHOOK_CATALOGUE, webhookSchemaFiles } from '../../src/modules/webhooks/webhook-catalogue.pure.js';
import { webhookEventId, WebhookTopic as Topics } from '../../src/modules/webhooks/webhook.record.js';
import { emitWebhook } from '../../src/modules/webhooks/webhook.repository.js';
import {
  CancelSubscriptionDocument,
  ChangeSubscriptionPlanDocument,
  CreateAlertDefinitionDocument,
  CreateCustomerDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  CreateWalletDocument,
  CreateWebhookEndpointDocument,
  MarkInvoicePaidDocument,
  ReplayWebhookEventsDocument,
  RotateWebhookSecretDocument,
  TopUpWalletDocument,
  UpdateWebhookEndpointDocument,
  VoidInvoiceDocument,
  WebhookDeliveriesDocument,
  type WebhookTopic,
} from '../generated/graphql.js';
import { databaseBefore } from '../support/database.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * The webhook catalogue as receivers see it: each topic's body matches its published schema, is
 * signed to the Standard Webhooks specification (checked with the standardwebhooks library
 * itself), arrives once per event at the endpoints subscribed to it, and can be replayed with its
 * original id. Receivers listen on 127.0.0.1, which webhooks reach only with private networks allowed.
 */
const ENV = { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_TIMEOUT_MS: '2000', INVOICE_CLOSE_INTERVAL_MS: '0' };

/** Every topic webhooks announce. */
const TOPICS = [
  'invoice.created',
  'invoice.finalized',
  'invoice.paid',
  'invoice.payment_failed',
  'invoice.voided',
  'invoice.uncollectible',
  'wallet.topped_up',
  'wallet.recharge_succeeded',
  'wallet.recharge_failed',
  'alert.triggered',
  'subscription.created',
  'subscription.changed',
  'subscription.canceled',
  'customer.suspended',
  'customer.reinstated',
  'wallet.top_up_requested',
];

/** The topics changes of invoices, wallets, subscriptions and alerts send in this story. */
const SENT: WebhookTopic[] = [
  'INVOICE_CREATED',
  'INVOICE_FINALIZED',
  'INVOICE_PAID',
  'INVOICE_VOIDED',
  'WALLET_TOPPED_UP',
  'SUBSCRIPTION_CREATED',
  'SUBSCRIPTION_CHANGED',
  'SUBSCRIPTION_CANCELED',
  'ALERT_TRIGGERED',
  'WALLET_TOP_UP_REQUESTED',
];

const SCHEMA_DIR = path.resolve('docs/webhooks');

/** The published schema files, compiled as a receiver would, with the formats they use checked. */
function compileSchemas(): Map<string, ValidateFunction> {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat('date-time', (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)));
  return new Map(readdirSync(SCHEMA_DIR).map((f) => [f.replace(/\.schema\.json$/, ''), ajv.compile(JSON.parse(readFileSync(path.join(SCHEMA_DIR, f), 'utf8')))]));
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

async function startReceiver() {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const bodyOf = (r: Received) => JSON.parse(r.body) as { id: string; type: string; timestamp: string; data: Record<string, any> };
const headersOf = (r: Received) => r.headers as Record<string, string>;

describe('the catalogue', () => {
  it('describes every topic once, as the GraphQL enum names it', () => {
    expect(WEBHOOK_CATALOGUE.map((e) => e.topic).sort()).toEqual([...TOPICS].sort());
    expect(Object.values(Topics).sort()).toEqual([...TOPICS].sort());
    for (const e of WEBHOOK_CATALOGUE) {
      expect(e.name, e.topic).toBe(e.topic.toUpperCase().replace('.', '_'));
      expect(Topics[e.name]).toBe(e.topic);
      expect(e.summary.length, e.topic).toBeGreaterThan(20);
    }
  });

  it("describes one invoice for every invoice topic, with the API's payment figures", () => {
    const invoices = WEBHOOK_CATALOGUE.filter((e) => e.topic.startsWith('invoice.')).map((e) => (e.data as { properties: { invoice: Record<string, any> } }).properties.invoice);
    expect(invoices).toHaveLength(6);
    for (const i of invoices) expect(i).toEqual(invoices[0]);
    const props = invoices[0]!.properties;
    expect(props.amountDue.description).toMatch(/^What remains to be paid/);
    expect(props.paymentStatus.enum).toEqual(Object.values(InvoicePaymentStatus));
    expect(invoices[0]!.required).toEqual(expect.arrayContaining(['amountDue', 'amountPaid', 'paymentStatus', 'dueAt']));
  });

  it('ships one schema file per topic, as the code writes them (npm run schema:webhooks), each a valid draft 2020-12 schema', () => {
    const files = webhookSchemaFiles();
    expect(readdirSync(SCHEMA_DIR).sort()).toEqual(files.map((f) => f.file).sort());
    for (const f of files) expect(readFileSync(path.join(SCHEMA_DIR, f.file), 'utf8'), f.file).toBe(f.text);
    const schemas = compileSchemas();
    expect([...schemas.keys()].sort()).toEqual([...TOPICS].sort());
    for (const topic of TOPICS) expect(JSON.parse(readFileSync(path.join(SCHEMA_DIR, `${topic}.schema.json`), 'utf8'))).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', properties: { type: { const: topic } } });
  });
});

describe('events of invoices, wallets and subscriptions', () => {
  let t: TestApp;
  let all: Receiver;
  let finals: Receiver;
  let allEndpoint: { id: string; secret: string };
  let finalsEndpoint: { id: string; secret: string };
  const schemas = compileSchemas();
  const story = {} as Record<'customerId' | 'subscriptionId' | 'voidedId' | 'correctionId' | 'walletId' | 'changedId', string>;

  const createEndpoint = async (url: string, topics: WebhookTopic[]) => {
    const { endpoint, secret } = (await t.admin.ok(CreateWebhookEndpointDocument, { input: { url, topics } })).createWebhookEndpoint;
    return { id: endpoint.id, secret };
  };
  const deliveriesTo = async (endpointId: string) =>
    t.app.sql.query<{ id: string; event_id: string; topic: string; replay_id: string | null }>('select id, event_id, topic, replay_id from webhook_delivery where endpoint_id = $1', [endpointId]);
  const waitFor = (rx: Receiver, n: number) => vi.waitFor(() => expect(rx.requests.length).toBeGreaterThanOrEqual(n), { timeout: 20_000, interval: 50 });

  beforeAll(async () => {
    t = await startTestApp({ env: ENV });
    all = await startReceiver();
    finals = await startReceiver();
    allEndpoint = await createEndpoint(all.url, SENT);
    finalsEndpoint = await createEndpoint(finals.url, ['INVOICE_FINALIZED']);

    // A customer on a plan since the first of the month two months back, base fees in advance.
    await t.admin.ok(CreatePlanDocument, { input: { code: 'wh-basic', name: 'Basic', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '10' } });
    await t.admin.ok(CreatePlanDocument, { input: { code: 'wh-pro', name: 'Pro', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '30' } });
    const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId: `wh-${randomUUID()}`, name: 'Hooks', currency: 'USD' } })).createCustomer;
    story.customerId = customer.id;
    const now = new Date();
    const startsAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1));
    const { subscription } = (await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: 'wh-basic', startsAt: startsAt.toISOString(), baseFeeTiming: 'ADVANCE' } })).createSubscription;
    story.subscriptionId = subscription.id;

    await t.app.services.invoices.closeCustomer(customer.id, new Date());
    const [first] = await t.app.sql.query<{ id: string }>(`select id from invoice where customer_id = $1 and status = 'FINALIZED' order by period_start, kind limit 1`, [customer.id]);
    story.voidedId = first!.id;
    // Paid (invoice.paid), then voided: what remains of it is nothing, as the API says.
    await t.admin.ok(MarkInvoicePaidDocument, { input: { invoiceId: first!.id, paymentReference: 'wire 7' } });
    const voided = (await t.admin.ok(VoidInvoiceDocument, { input: { invoiceId: first!.id, reason: 'wrong address', reissue: true } })).voidInvoice;
    story.correctionId = voided.corrected!.id;

    const { wallet } = (await t.admin.ok(CreateWalletDocument, { input: { customerId: customer.id } })).createWallet;
    story.walletId = wallet.id;
    const topUp = { walletId: wallet.id, amount: '12.50', idempotencyKey: `wh-top-up-${customer.id}`, reference: 'wire 42' };
    await t.admin.ok(TopUpWalletDocument, { input: topUp });
    await t.admin.ok(TopUpWalletDocument, { input: topUp }); // a retry: no second event
    // Definitions already across fire at once: a low balance, and an auto top-up request.
    await t.admin.ok(CreateAlertDefinitionDocument, { input: { name: 'low', metric: 'WALLET_BALANCE', walletId: wallet.id, threshold: '100' } });
    await t.admin.ok(CreateAlertDefinitionDocument, { input: { name: 'refill', metric: 'WALLET_AVAILABLE', walletId: wallet.id, threshold: '50', topUpAmount: '40' } });

    const changed = (await t.admin.ok(ChangeSubscriptionPlanDocument, { input: { subscriptionId: subscription.id, planCode: 'wh-pro' } })).changeSubscriptionPlan;
    story.changedId = changed.subscription.id;
    await t.admin.ok(CancelSubscriptionDocument, { input: { subscriptionId: changed.subscription.id, timing: 'IMMEDIATE' } });
  });
  afterAll(async () => {
    await all?.close();
    await finals?.close();
    await t?.close();
  });

  it('sends each event once to the endpoint subscribed to its topic, signed as the standardwebhooks library verifies', async () => {
    const written = await deliveriesTo(allEndpoint.id);
    await waitFor(all, written.length);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(all.requests).toHaveLength(written.length);
    const receiver = new Webhook(allEndpoint.secret);
    const stranger = new Webhook(`whsec_${randomBytes(32).toString('base64')}`);
    for (const r of all.requests) {
      const body = receiver.verify(r.body, headersOf(r)) as ReturnType<typeof bodyOf>;
      expect(r.headers['webhook-id']).toBe(body.id);
      expect(() => stranger.verify(r.body, headersOf(r))).toThrow(/No matching signature/);
      expect(() => receiver.verify(r.body.replace('"data":{', '"data":{"x":1,'), headersOf(r))).toThrow(/No matching signature/);
    }
    const ids = all.requests.map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(all.requests.map((r) => bodyOf(r).type))).toEqual(new Set(SENT.map((w) => Topics[w])));
  });

  it('sends bodies { id, type, timestamp, data } that match the published schema of their type', () => {
    for (const r of all.requests) {
      const body = bodyOf(r);
      const validate = schemas.get(body.type)!;
      expect(validate(body), `${body.type}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(Date.parse(body.timestamp)).toBeGreaterThan(Date.now() - 600_000);
    }
  });

  it('announces what happened, with the announced thing\'s figures', async () => {
    const of = (type: string) => all.requests.map(bodyOf).filter((b) => b.type === type);
    const invoices = await t.app.sql.query<{ id: string; status: string; number: string | null }>('select id, status, number from invoice where customer_id = $1', [story.customerId]);
    expect(of('invoice.created').map((b) => b.data.invoice.id).sort()).toEqual(invoices.map((i) => i.id).sort());
    expect(of('invoice.finalized').map((b) => b.data.invoice.id).sort()).toEqual(invoices.filter((i) => i.number !== null).map((i) => i.id).sort());
    for (const b of of('invoice.finalized')) expect(b.data.invoice).toMatchObject({ status: 'FINALIZED', number: invoices.find((i) => i.id === b.data.invoice.id)!.number });
    expect(of('invoice.created').find((b) => b.data.invoice.id === story.correctionId)!.data.invoice).toMatchObject({ status: 'DRAFT', correctsInvoiceId: story.voidedId });
    // Every invoice topic carries the invoice as the API's Invoice has it: amountDue is what remains to be paid.
    const [paid] = of('invoice.paid').map((b) => b.data.invoice);
    const [voided] = of('invoice.voided').map((b) => b.data.invoice);
    const [finalized] = of('invoice.finalized').filter((b) => b.data.invoice.id === story.voidedId).map((b) => b.data.invoice);
    expect(finalized).toMatchObject({ status: 'FINALIZED', total: '10.00', amountDue: '10.00', amountPaid: '0.00', paymentStatus: 'NONE', dueAt: expect.any(String), paidAt: null });
    expect(paid).toMatchObject({ id: story.voidedId, status: 'PAID', total: '10.00', amountDue: '0.00', amountPaid: '10.00', paymentStatus: 'PAID', paymentReference: 'wire 7', dueAt: finalized!.dueAt });
    expect(voided).toEqual({ ...paid, status: 'VOID', voidReason: 'wrong address', voidedAt: expect.any(String) });
    const api = await t.app.services.invoices.get(story.voidedId);
    expect(Date.parse(finalized!.dueAt)).toBe(api.dueAt!.getTime());
    expect(of('invoice.created').find((b) => b.data.invoice.id === story.correctionId)!.data.invoice).toMatchObject({ amountDue: '10.00', amountPaid: '0.00', paymentStatus: 'NONE', dueAt: null });

    expect(of('wallet.topped_up').map((b) => b.data)).toEqual([
      {
        wallet: { id: story.walletId, customerId: story.customerId, currency: 'USD', balance: '12.5' },
        topUp: { entryId: expect.stringMatching(/^\d+$/), amount: '12.5', reference: 'wire 42', description: null, createdAt: expect.any(String) },
      },
    ]);

    expect(of('alert.triggered').map((b) => b.data.alert)).toEqual([expect.objectContaining({ name: 'low', metric: 'WALLET_BALANCE', direction: 'BELOW', threshold: '100', value: '12.5', topUpAmount: null })]);
    expect(of('wallet.top_up_requested').map((b) => b.data.alert)).toEqual([expect.objectContaining({ name: 'refill', metric: 'WALLET_AVAILABLE', value: '12.5', topUpAmount: '40' })]);

    expect(of('subscription.created').map((b) => b.data.subscription)).toEqual([expect.objectContaining({ id: story.subscriptionId, planCode: 'wh-basic', planVersion: 1, status: 'ACTIVE', endsAt: null })]);
    const [changed] = of('subscription.changed');
    expect(changed!.data).toMatchObject({
      timing: 'IMMEDIATE',
      subscription: { id: story.changedId, planCode: 'wh-pro', replacesSubscriptionId: story.subscriptionId, status: 'ACTIVE' },
      previous: { id: story.subscriptionId, planCode: 'wh-basic', status: 'ENDED', endsAt: changed!.data.subscription.startsAt },
    });
    expect(of('subscription.canceled').map((b) => b.data)).toEqual([
      expect.objectContaining({ timing: 'IMMEDIATE', subscription: expect.objectContaining({ id: story.changedId, status: 'CANCELED', canceledAt: expect.any(String) }) }),
    ]);
  });

  it('sends an endpoint only the topics it subscribes to', async () => {
    const finalized = await t.app.sql.query<{ id: string }>('select id from invoice where customer_id = $1 and number is not null', [story.customerId]);
    await waitFor(finals, finalized.length);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(finals.requests.map((r) => bodyOf(r).type)).toEqual(finalized.map(() => 'invoice.finalized'));
    expect(finals.requests.map((r) => bodyOf(r).data.invoice.id).sort()).toEqual(finalized.map((i) => i.id).sort());
    for (const r of finals.requests) expect(new Webhook(finalsEndpoint.secret).verify(r.body, headersOf(r))).toEqual(bodyOf(r));
  });

  it('replays past events to one endpoint with their ids, once per idempotency key', async () => {
    const before = finals.requests.map((r) => ({ id: String(r.headers['webhook-id']), body: r.body }));
    expect(before.length).toBeGreaterThan(0);
    const input = { endpointId: finalsEndpoint.id, since: new Date(Date.now() - 3_600_000).toISOString(), until: new Date(Date.now() + 1_000).toISOString(), idempotencyKey: `replay-${randomUUID()}` };
    const replay = (await t.admin.ok(ReplayWebhookEventsDocument, { input })).replayWebhookEvents;
    expect(replay).toMatchObject({ endpointId: finalsEndpoint.id, events: before.length, replayed: false });
    await waitFor(finals, before.length * 2);
    const again = finals.requests.slice(before.length);
    // The same events, byte for byte, under the same webhook-id: a receiver deduplicates them.
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect(again.map((r) => ({ id: String(r.headers['webhook-id']), body: r.body })).sort(byId)).toEqual([...before].sort(byId));
    for (const r of again) expect(new Webhook(finalsEndpoint.secret).verify(r.body, headersOf(r))).toEqual(bodyOf(r));
    const listed = (await t.admin.ok(WebhookDeliveriesDocument, { endpointId: finalsEndpoint.id, first: 100 })).webhookDeliveries.nodes;
    expect(listed.filter((d) => d.replayId === replay.replayId)).toHaveLength(before.length);

    // A retry with the key answers the same and sends nothing more; another request with it is refused.
    expect((await t.admin.ok(ReplayWebhookEventsDocument, { input })).replayWebhookEvents).toEqual({ ...replay, replayed: true });
    expect(codesOf(await t.admin.request(ReplayWebhookEventsDocument, { input: { ...input, since: new Date(Date.now() - 7_200_000).toISOString() } }))).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(finals.requests).toHaveLength(before.length * 2);
    expect((await deliveriesTo(finalsEndpoint.id)).filter((d) => d.replay_id !== null)).toHaveLength(before.length);
  });

  it('refuses a replay of topics the endpoint does not take, an empty range, non-admin keys and unknown endpoints', async () => {
    const base = { endpointId: finalsEndpoint.id, since: '2026-01-01T00:00:00Z', until: new Date(Date.now() + 1_000).toISOString() };
    const refused = async (input: typeof base & { topics?: WebhookTopic[] }, key = `r-${randomUUID()}`) => t.admin.request(ReplayWebhookEventsDocument, { input: { ...input, idempotencyKey: key } });
    const notTaken = await refused({ ...base, topics: ['INVOICE_CREATED'] });
    expect(codesOf(notTaken)).toEqual(['VALIDATION_FAILED']);
    expect(notTaken.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: 'topics' })]);
    expect(codesOf(await refused({ ...base, until: base.since }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await refused({ ...base, endpointId: randomUUID() }))).toEqual(['NOT_FOUND']);
    const ingest = await t.app.services.apiKeys.create({ name: 'ingest', role: Role.INGEST });
    expect(codesOf(await t.client(ingest.secret).request(ReplayWebhookEventsDocument, { input: { ...base, idempotencyKey: 'x' } }))).toEqual(['FORBIDDEN']);
    expect(codesOf(await t.client(ingest.secret).request(RotateWebhookSecretDocument, { input: { id: finalsEndpoint.id } }))).toEqual(['FORBIDDEN']);
  });

  it('replays at most 10000 events per call', async () => {
    // A disabled endpoint: its deliveries wait, so nothing is sent.
    const parked = await createEndpoint('http://127.0.0.1:9/parked', ['INVOICE_PAID']);
    await t.admin.ok(UpdateWebhookEndpointDocument, { input: { id: parked.id, enabled: false } });
    await t.app.sql.query(
      `insert into webhook_event (id, topic, data, occurred_at)
       select gen_random_uuid(), 'invoice.paid', '{}'::jsonb, timestamptz '2020-01-01T00:00:00Z' + n * interval '1 second' from generate_series(1, 10001) n`,
    );
    const range = (until: string) => ({ endpointId: parked.id, since: '2020-01-01T00:00:00Z', until, idempotencyKey: `limit-${randomUUID()}` });
    const over = await t.admin.request(ReplayWebhookEventsDocument, { input: range('2020-01-02T00:00:00Z') });
    expect(codesOf(over)).toEqual(['LIMIT_EXCEEDED']);
    expect(over.errors![0]!.message).toMatch(/more than 10000 events/);
    expect(await deliveriesTo(parked.id)).toHaveLength(0);
    // The 10000th event happened at 02:46:40; until leaves out the 10001st.
    const atLimit = (await t.admin.ok(ReplayWebhookEventsDocument, { input: range('2020-01-01T02:46:41Z') })).replayWebhookEvents;
    expect(atLimit.events).toBe(10_000);
    expect(await deliveriesTo(parked.id)).toHaveLength(10_000);
  });

  it('signs with the new and the replaced secret after a rotation, then with the new one alone', async () => {
    const rotated = (await t.admin.ok(RotateWebhookSecretDocument, { input: { id: allEndpoint.id } })).rotateWebhookSecret;
    expect(rotated.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(rotated.secret).not.toBe(allEndpoint.secret);
    expect(Date.parse(rotated.endpoint.previousSecretExpiresAt!) - Date.now()).toBeGreaterThan(86_000_000);
    const topUp = async () => {
      const n = all.requests.length;
      await t.admin.ok(TopUpWalletDocument, { input: { walletId: story.walletId, amount: '1', idempotencyKey: `rot-${randomUUID()}` } });
      await waitFor(all, n + 1);
      return all.requests[n]!;
    };
    const during = await topUp();
    for (const secret of [rotated.secret, allEndpoint.secret]) expect(new Webhook(secret).verify(during.body, headersOf(during))).toMatchObject({ type: 'wallet.topped_up' });

    const again = (await t.admin.ok(RotateWebhookSecretDocument, { input: { id: allEndpoint.id, graceSeconds: 0 } })).rotateWebhookSecret;
    expect(again.endpoint.previousSecretExpiresAt).toBeNull();
    const after = await topUp();
    expect(new Webhook(again.secret).verify(after.body, headersOf(after))).toMatchObject({ type: 'wallet.topped_up' });
    expect(() => new Webhook(rotated.secret).verify(after.body, headersOf(after))).toThrow(/No matching signature/);
    expect(codesOf(await t.admin.request(RotateWebhookSecretDocument, { input: { id: allEndpoint.id, graceSeconds: 8 * 86_400 } }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(RotateWebhookSecretDocument, { input: { id: randomUUID() } }))).toEqual(['NOT_FOUND']);
  });

  it('announces in the transaction of the change: once per event id, never when it rolls back', async () => {
    const eventId = webhookEventId(Topics.INVOICE_VOIDED, randomUUID());
    const e = { topic: Topics.INVOICE_VOIDED, eventId, data: { invoice: {} as never }, at: new Date() };
    await expect(
      t.app.sql.transaction(async (client) => {
        expect(await emitWebhook(client, e)).toBe(1);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await t.app.sql.query('select 1 from webhook_event where id = $1', [eventId])).toHaveLength(0);
    expect(await t.app.sql.query('select 1 from webhook_delivery where event_id = $1', [eventId])).toHaveLength(0);
    await t.admin.ok(UpdateWebhookEndpointDocument, { input: { id: allEndpoint.id, enabled: false } });
    expect(await t.app.sql.transaction((client) => emitWebhook(client, e))).toBe(0); // no enabled endpoint takes it
    await t.admin.ok(UpdateWebhookEndpointDocument, { input: { id: allEndpoint.id, enabled: true } });
    expect(await t.app.sql.transaction((client) => emitWebhook(client, e))).toBe(0); // logged already: announced once
    expect(await t.app.sql.query('select 1 from webhook_event where id = $1', [eventId])).toHaveLength(1);
    expect(webhookEventId(Topics.INVOICE_PAID, 'x')).not.toBe(webhookEventId(Topics.INVOICE_VOIDED, 'x'));
    expect(webhookEventId(Topics.INVOICE_PAID, 'x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('the migration of a database with endpoints and deliveries', () => {
  it('keeps each endpoint\'s key, now in the base64 Standard Webhooks libraries read, and logs the events delivered so far', async () => {
    const { db, migrateRest, close } = await databaseBefore('Migration20261201001000WebhookEvents');
    try {
      // Secrets as the previous version made them: base64url of 32 random bytes ("-", "_", no padding).
      const key = Buffer.from(Array.from({ length: 32 }, (_, i) => (i % 2 ? 0xfb : 0xff)));
      const old = `whsec_${key.toString('base64url')}`;
      expect(old).toMatch(/[-_]/);
      const endpoint = randomUUID();
      await db.query(`insert into webhook_endpoint (id, url, secret, topics, created_at, updated_at) values ($1, 'https://example.com/h', $2, '{alert.triggered}', now(), now())`, [endpoint, old]);
      const eventId = randomUUID();
      const at = new Date('2026-11-02T10:00:00Z');
      await db.query(
        `insert into webhook_delivery (id, endpoint_id, topic, event_id, payload, status, next_attempt_at, created_at) values (gen_random_uuid(), $1, 'alert.triggered', $2, $3, 'DELIVERED', $4, $4)`,
        [endpoint, eventId, { alert: { id: eventId } }, at],
      );

      await migrateRest();
      const [row] = (await db.query('select secret, previous_secret from webhook_endpoint where id = $1', [endpoint])).rows;
      expect(row).toEqual({ secret: `whsec_${key.toString('base64')}`, previous_secret: null });
      // The library, given the migrated secret, verifies what the receiver's key signs.
      const body = '{"a":1}';
      const ts = Math.floor(Date.now() / 1000);
      const signature = `v1,${createHmac('sha256', key).update(`${eventId}.${ts}.${body}`).digest('base64')}`;
      expect(new Webhook(row.secret).verify(body, { 'webhook-id': eventId, 'webhook-timestamp': String(ts), 'webhook-signature': signature })).toEqual({ a: 1 });
      expect((await db.query('select id, topic, data, occurred_at from webhook_event')).rows).toEqual([{ id: eventId, topic: 'alert.triggered', data: { alert: { id: eventId } }, occurred_at: at }]);
      // An event already delivered to the endpoint can be sent again only by a replay.
      await expect(db.query(`insert into webhook_delivery (id, endpoint_id, topic, event_id, payload, next_attempt_at, created_at) values (gen_random_uuid(), $1, 'alert.triggered', $2, '{}', now(), now())`, [endpoint, eventId])).rejects.toThrow(/webhook_delivery_once/);
      await db.query(`insert into webhook_delivery (id, endpoint_id, topic, event_id, payload, next_attempt_at, created_at, replay_id) values (gen_random_uuid(), $1, 'alert.triggered', $2, '{}', now(), now(), gen_random_uuid())`, [endpoint, eventId]);
      await expect(db.query(`update webhook_endpoint set secret = 'whsec_abc-def' where id = $1`, [endpoint])).rejects.toThrow(/webhook_endpoint_secret_format/);
    } finally {
      await close();
    }
  });
});
