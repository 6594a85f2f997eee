import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthorizeUsageDocument,
  ChangeSubscriptionPlanDocument,
  CloseInvoicesDocument,
  CreateAlertDefinitionDocument,
  CreateApiKeyDocument,
  CreateCreditUnitDocument,
  CreateCustomerTokenDocument,
  CreatePlanVersionDocument,
  CreateTaxRateDocument,
  CreateWalletDocument,
  CreateWebhookEndpointDocument,
  InvoicesDocument,
  MarkInvoicePaidDocument,
  NodeByIdDocument,
  PageAlertDefinitionsDocument,
  PageCreditUnitsDocument,
  PagePlanVersionsDocument,
  PageRuleSetsDocument,
  PageSubscriptionsDocument,
  PageTaxRatesDocument,
  PageWalletsDocument,
  PageWebhookEndpointsDocument,
  RecordUsageDocument,
} from '../generated/graphql.js';
import { codesOf, type TestClient } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

let t: TestApp;
/** Customer a: prepaid (USD and EUR wallets), on the hybrid plan for 40 days, then scheduled back to api. */
let a: Funded;
/** Customer b: postpaid, on the hybrid plan for 40 days; its invoice is paid. */
let b: Funded;
let customerKey: TestClient;
const ids: Record<string, string> = {};

interface Page<N> {
  edges: Array<{ cursor: string; node: N }>;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}

/** Every node of a list in one page of 100, and again one node a page, following endCursor. */
async function bothWays<N>(list: (first: number, after: string | null) => Promise<Page<N>>): Promise<{ whole: N[]; walked: N[] }> {
  const all = await list(100, null);
  expect(all.pageInfo.hasNextPage).toBe(false);
  const walked: N[] = [];
  let after: string | null = null;
  for (let pages = 0; pages <= all.edges.length; pages++) {
    const page: Page<N> = await list(1, after);
    walked.push(...page.edges.map((e) => e.node));
    expect(page.pageInfo.endCursor ?? null).toBe(page.edges.at(-1)?.cursor ?? null);
    if (!page.pageInfo.hasNextPage) return { whole: all.edges.map((e) => e.node), walked };
    after = page.pageInfo.endCursor!;
  }
  throw new Error('more pages than nodes');
}

beforeAll(async () => {
  t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
  await setupCatalogue(t);
  const startsAt = new Date(Date.now() - 40 * 86_400_000);
  // Endpoints first: the alerts fired below write their deliveries.
  for (let i = 0; i < 3; i++) {
    const { endpoint } = (await t.admin.ok(CreateWebhookEndpointDocument, { input: { url: `http://127.0.0.1:9/hooks-${i}`, topics: ['ALERT_TRIGGERED'] } })).createWebhookEndpoint;
    ids.WebhookEndpoint = endpoint.id;
  }
  a = await fundedCustomer(t, '100', { plan: 'hybrid', startsAt });
  b = await fundedCustomer(t, null, { plan: 'hybrid', startsAt });
  await t.admin.ok(CreateWalletDocument, { input: { customerId: a.customerId, currency: 'EUR' } });
  const { wallet: walletOfB } = (await t.admin.ok(CreateWalletDocument, { input: { customerId: b.customerId } })).createWallet;
  ids.walletOfB = walletOfB.id;
  for (const [i, threshold] of ['1000', '2000', '3000'].entries()) {
    const created = (await t.admin.ok(CreateAlertDefinitionDocument, { input: { customerId: a.customerId, walletId: a.walletId, metric: 'WALLET_BALANCE', direction: 'BELOW', threshold, name: `low ${i}` } })).createAlertDefinition;
    ids.AlertDefinition = created.definition.id;
    ids.Alert = created.fired[0]!.id;
  }
  for (const code of ['CREDIT_C', 'CREDIT_A', 'CREDIT_B']) await t.admin.ok(CreateCreditUnitDocument, { input: { code, name: code } });
  for (const code of ['VAT_C', 'VAT_A', 'VAT_B']) await t.admin.ok(CreateTaxRateDocument, { input: { code, name: code, percent: '10', inclusive: false } });
  for (const baseFee of ['1', '2']) await t.admin.ok(CreatePlanVersionDocument, { input: { code: 'api', baseFee } });

  await t.admin.ok(CloseInvoicesDocument, {});
  const invoiceOf = async (c: Funded) => (await t.admin.ok(InvoicesDocument, { customerId: c.customerId })).invoices.nodes.find((i) => i.status === 'FINALIZED')!.id;
  ids.Invoice = await invoiceOf(a);
  ids.invoiceOfB = await invoiceOf(b);
  await t.admin.ok(MarkInvoicePaidDocument, { input: { invoiceId: ids.invoiceOfB, paymentReference: 'wire-1' } });
  const subscriptions = (await t.admin.ok(PageSubscriptionsDocument, { customerId: a.customerId, first: 10 })).subscriptions.edges;
  await t.admin.ok(ChangeSubscriptionPlanDocument, { input: { subscriptionId: subscriptions[0]!.node.id, planCode: 'api', timing: 'PERIOD_END' } });

  const key = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'customer a', role: 'CUSTOMER', customerId: a.customerId } })).createApiKey;
  customerKey = t.client(key.secret);
  ids.ApiKey = key.apiKey.id;
  ids.CustomerToken = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId: a.customerId } })).createCustomerToken.customerToken.id;
  ids.Customer = a.customerId;
  ids.Wallet = a.walletId!;
  ids.PlanSubscription = subscriptions[0]!.node.id;
  ids.UsageEvent = (await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(a.customerId, 'conn-1') })).recordUsage.event!.id;
  ids.Reservation = (await t.admin.ok(AuthorizeUsageDocument, { input: { customerId: a.customerId, meterCode: 'llm_tokens', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: 'conn-2', estimatedQuantity: '1000' } })).authorizeUsage.reservation!.id;
  const one = async (query: string, params: unknown[] = []) => (await t.app.sql.query<{ id: string }>(query, params as string[]))[0]!.id;
  ids.CreditBlock = await one('select id from credit_block where wallet_id = $1', [a.walletId]);
  ids.Meter = await one("select id from meter where code = 'llm_tokens'");
  ids.Plan = await one("select id from plan where code = 'hybrid'");
  ids.Payment = await one('select id from payment where invoice_id = $1', [ids.invoiceOfB]);
  ids.WebhookDelivery = await one('select id from webhook_delivery order by id limit 1');
});
afterAll(() => t?.close());

describe('list connections', () => {
  it('pages alertDefinitions oldest first, one at a time, as one big page does', async () => {
    const { whole, walked } = await bothWays(async (first, after) => (await customerKey.ok(PageAlertDefinitionsDocument, { customerId: a.customerId, first, after })).alertDefinitions);
    expect(whole).toHaveLength(3);
    expect(walked).toEqual(whole);
    expect(whole.at(-1)!.id).toBe(ids.AlertDefinition);
  });

  it('pages creditUnits and taxRates by code', async () => {
    const units = await bothWays(async (first, after) => (await t.admin.ok(PageCreditUnitsDocument, { first, after })).creditUnits);
    expect(units.whole.map((u) => u.code)).toEqual(['CREDIT_A', 'CREDIT_B', 'CREDIT_C']);
    expect(units.walked).toEqual(units.whole);
    const rates = await bothWays(async (first, after) => (await t.admin.ok(PageTaxRatesDocument, { first, after })).taxRates);
    expect(rates.whole.map((r) => r.code)).toEqual(['VAT_A', 'VAT_B', 'VAT_C']);
    expect(rates.walked).toEqual(rates.whole);
  });

  it('pages planVersions oldest first', async () => {
    const { whole, walked } = await bothWays(async (first, after) => (await t.admin.ok(PagePlanVersionsDocument, { code: 'api', first, after })).planVersions);
    expect(whole.map((p) => p.version)).toEqual([1, 2, 3]);
    expect(walked).toEqual(whole);
  });

  it('pages ruleSets by key and version', async () => {
    const { whole, walked } = await bothWays(async (first, after) => (await t.admin.ok(PageRuleSetsDocument, { first, after })).ruleSets);
    expect(whole.map((r) => `${r.key}@${r.version}`)).toEqual(['ai-price-book@1', 'ai-price-book@2', 'hybrid-plan@1', 'image-credits@1', 'platform-plan@1', 'provider-costs@1']);
    expect(walked).toEqual(whole);
    const one = await bothWays(async (first, after) => (await t.admin.ok(PageRuleSetsDocument, { key: 'ai-price-book', first, after })).ruleSets);
    expect(one.walked.map((r) => r.version)).toEqual([1, 2]);
  });

  it('pages subscriptions oldest first and wallets by currency, for the customer’s own key', async () => {
    const subs = await bothWays(async (first, after) => (await customerKey.ok(PageSubscriptionsDocument, { customerId: a.customerId, first, after })).subscriptions);
    expect(subs.whole).toHaveLength(2);
    expect(subs.walked).toEqual(subs.whole);
    expect(subs.whole[0]!.startsAt < subs.whole[1]!.startsAt).toBe(true);
    const wallets = await bothWays(async (first, after) => (await customerKey.ok(PageWalletsDocument, { customerId: a.customerId, first, after })).wallets);
    expect(wallets.whole.map((w) => w.currency)).toEqual(['EUR', 'USD']);
    expect(wallets.walked).toEqual(wallets.whole);
    expect(codesOf(await customerKey.request(PageWalletsDocument, { customerId: b.customerId, first: 1 }))).toEqual(['FORBIDDEN']);
  });

  it('pages webhookEndpoints oldest first', async () => {
    const { whole, walked } = await bothWays(async (first, after) => (await t.admin.ok(PageWebhookEndpointsDocument, { first, after })).webhookEndpoints);
    expect(whole).toHaveLength(3);
    expect(walked).toEqual(whole);
    expect(whole.at(-1)!.id).toBe(ids.WebhookEndpoint);
  });

  it('refuses a cursor it did not make, or made by another list, with VALIDATION_FAILED', async () => {
    const garbage = 'not-a-cursor';
    expect(codesOf(await t.admin.request(PageTaxRatesDocument, { first: 1, after: garbage }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(PageWalletsDocument, { customerId: a.customerId, first: 1, after: garbage }))).toEqual(['VALIDATION_FAILED']);
    const rateCursor = (await t.admin.ok(PageTaxRatesDocument, { first: 1 })).taxRates.pageInfo.endCursor!;
    expect(codesOf(await t.admin.request(PageWebhookEndpointsDocument, { first: 1, after: rateCursor }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(PageAlertDefinitionsDocument, { customerId: a.customerId, first: 1, after: rateCursor }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(PageSubscriptionsDocument, { customerId: a.customerId, first: 1, after: rateCursor }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(PagePlanVersionsDocument, { code: 'api', first: 1, after: rateCursor }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(PageCreditUnitsDocument, { first: 0 }))).toEqual(['VALIDATION_FAILED']);
  });
});

describe('node(id:)', () => {
  const TYPES = ['Alert', 'AlertDefinition', 'ApiKey', 'CreditBlock', 'Customer', 'CustomerToken', 'Invoice', 'Meter', 'Payment', 'Plan', 'PlanSubscription', 'Reservation', 'UsageEvent', 'Wallet', 'WebhookDelivery', 'WebhookEndpoint'];

  it('finds every registered type by id for an ADMIN key', async () => {
    for (const typename of TYPES) {
      const { node } = await t.admin.ok(NodeByIdDocument, { id: ids[typename]! });
      expect(node, typename).toMatchObject({ __typename: typename, id: ids[typename] });
    }
  });

  it("gives a CUSTOMER key its own objects, and null for another customer's, as for an unknown id", async () => {
    expect((await customerKey.ok(NodeByIdDocument, { id: ids.Wallet! })).node).toEqual({ __typename: 'Wallet', id: ids.Wallet, customerId: a.customerId, currency: 'USD' });
    expect((await customerKey.ok(NodeByIdDocument, { id: ids.Invoice! })).node).toEqual({ __typename: 'Invoice', id: ids.Invoice, customerId: a.customerId });
    for (const id of [ids.walletOfB!, ids.invoiceOfB!, ids.Payment!, b.customerId]) {
      expect(await customerKey.request(NodeByIdDocument, { id })).toMatchObject({ data: { node: null } });
    }
    // Types only ADMIN keys read.
    for (const id of [ids.Plan!, ids.ApiKey!, ids.WebhookEndpoint!]) expect((await customerKey.ok(NodeByIdDocument, { id })).node).toBeNull();
  });

  it('answers null for an unknown UUID and for an id that is no UUID', async () => {
    expect((await t.admin.ok(NodeByIdDocument, { id: '01890000-0000-7000-8000-000000000000' })).node).toBeNull();
    expect((await t.admin.ok(NodeByIdDocument, { id: 'not-an-id' })).node).toBeNull();
  });
});
