import { HttpTransport } from '../../client/http-transport.js';
import { TypedDocumentString } from '../../client/generated/graphql.js';

/**
 * The GraphQL documents the demo sends, with the part of each answer it reads. Amounts and
 * quantities are decimal strings, as everywhere in the API.
 */
const doc = <R, V = Record<string, unknown>>(query: string) => new TypedDocumentString<R, V>(query);

export const MeterQuery = doc<{ meter: { code: string; dimensions: string[] } | null }>(`query DemoMeter($code: String!) { meter(code: $code) { code dimensions } }`);
export const CreateMeter = doc<{ createMeter: { meter: { code: string; dimensions: string[] } } }>(
  `mutation DemoCreateMeter($input: CreateMeterInput!) { createMeter(input: $input) { meter { code dimensions } } }`,
);
export const TaxRatesQuery = doc<{ taxRates: { nodes: Array<{ code: string }> } }>(`query DemoTaxRates { taxRates(first: 100) { nodes { code } } }`);
export const CreateTaxRate = doc<{ createTaxRate: { taxRate: { code: string } } }>(
  `mutation DemoCreateTaxRate($input: CreateTaxRateInput!) { createTaxRate(input: $input) { taxRate { code } } }`,
);
export const PlanQuery = doc<{ plan: { code: string; version: number } | null }>(`query DemoPlan($code: String!) { plan(code: $code) { code version } }`);
export const CreatePlan = doc<{ createPlan: { plan: { code: string; version: number } } }>(
  `mutation DemoCreatePlan($input: CreatePlanInput!) { createPlan(input: $input) { plan { code version } } }`,
);
export const CreateTestClock = doc<{ createTestClock: { testClock: { id: string; name: string; frozenTime: string } } }>(
  `mutation DemoCreateTestClock($input: CreateTestClockInput!) { createTestClock(input: $input) { testClock { id name frozenTime } } }`,
);
export const AdvanceTestClock = doc<{ advanceTestClock: { testClock: { id: string; frozenTime: string }; finalizedInvoiceIds: string[] } }>(
  `mutation DemoAdvanceTestClock($input: AdvanceTestClockInput!) { advanceTestClock(input: $input) { testClock { id frozenTime } finalizedInvoiceIds } }`,
);
export const CreateCustomer = doc<{ createCustomer: { customer: { id: string; externalId: string; name: string } } }>(
  `mutation DemoCreateCustomer($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id externalId name } } }`,
);
export const CreateSubscription = doc<{ createSubscription: { subscription: { id: string } } }>(
  `mutation DemoCreateSubscription($input: CreateSubscriptionInput!) { createSubscription(input: $input) { subscription { id } } }`,
);
export const CreateWallet = doc<{ createWallet: { wallet: { id: string } } }>(`mutation DemoCreateWallet($input: CreateWalletInput!) { createWallet(input: $input) { wallet { id } } }`);
export const TopUpWallet = doc<{ topUpWallet: { wallet: { balance: string } } }>(
  `mutation DemoTopUpWallet($input: TopUpWalletInput!) { topUpWallet(input: $input) { wallet { balance } } }`,
);
export const GrantCredits = doc<{ grantCredits: { wallet: { balance: string } } }>(
  `mutation DemoGrantCredits($input: GrantCreditsInput!) { grantCredits(input: $input) { wallet { balance } } }`,
);
export const CreateAlertDefinition = doc<{ createAlertDefinition: { definition: { id: string } } }>(
  `mutation DemoCreateAlertDefinition($input: CreateAlertDefinitionInput!) { createAlertDefinition(input: $input) { definition { id } } }`,
);
export const CreateCustomerToken = doc<{ createCustomerToken: { token: string; customerToken: { expiresAt: string } } }>(
  `mutation DemoCreateCustomerToken($input: CreateCustomerTokenInput!) { createCustomerToken(input: $input) { token customerToken { expiresAt } } }`,
);
export interface DemoInvoice {
  id: string;
  customerId: string;
  kind: string;
  status: string;
  number: string | null;
  periodStart: string;
  periodEnd: string;
  total: string;
  currency: string;
}
export const InvoiceQuery = doc<{ invoice: DemoInvoice }>(`query DemoInvoice($id: ID!) { invoice(id: $id) { id customerId kind status number periodStart periodEnd total currency } }`);
export const InvoiceLinkQuery = doc<{ invoiceLink: { html: string; pdf: string; expiresAt: string } }>(
  `query DemoInvoiceLink($invoiceId: ID!, $expiresInSeconds: Int) { invoiceLink(invoiceId: $invoiceId, expiresInSeconds: $expiresInSeconds) { html pdf expiresAt } }`,
);

/** One caller of the API over HTTP with one credential; a GraphQL error becomes a BillingError. */
export class DemoApi {
  private readonly transport: HttpTransport;

  constructor(readonly url: string, apiKey: string) {
    this.transport = new HttpTransport(url, apiKey, (u, init) => fetch(u, init), 30_000);
  }

  request<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<R> {
    return this.transport.request(document, variables);
  }
}
