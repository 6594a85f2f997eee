import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import {
  AuthorizeUsageDocument,
  CloseInvoicesDocument,
  CreateAlertDefinitionDocument,
  CreateCustomerDocument,
  CreateCustomerTokenDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  CreateWalletDocument,
  GrantCreditsDocument,
  InvoiceStatusesDocument,
  MarkInvoicePaidDocument,
  PreviewChargeDocument,
  RecordUsageDocument,
  TopUpWalletDocument,
  UpdateCustomerDocument,
  UpdateWalletDocument,
  UsageTotalsDocument,
  WalletDocument,
} from '../generated/graphql.js';
import { codesOf, type GraphQLResult } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { gpt4oInput, setupCatalogue } from '../support/usage-fixtures.js';

/**
 * Bad input is refused with VALIDATION_FAILED, never answered with INTERNAL_SERVER_ERROR or a
 * retryable code: amounts beyond what the ledger can hold, absurd dates, a payment dated in the
 * future. The refusal changes nothing.
 */
const clock = new FixedClock(new Date('2026-03-01T00:00:00Z'));
let t: TestApp;
let customerId: string;
let walletId: string;
let seq = 0;

/** The one error of a refused request: its code, whether it may be retried, and the fields it names. */
function refusal(result: GraphQLResult<unknown>) {
  expect(result.errors, JSON.stringify(result)).toHaveLength(1);
  const { code, retryable, fields } = result.errors![0]!.extensions ?? {};
  return { code, retryable, paths: (fields as Array<{ path: string }> | undefined)?.map((f) => f.path), message: result.errors![0]!.message };
}

async function newCustomer(): Promise<string> {
  const externalId = `bad-input-${process.pid}-${seq++}`;
  return (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD' } })).createCustomer.customer.id;
}

beforeAll(async () => {
  t = await startTestApp({ clock, env: { INVOICE_CLOSE_INTERVAL_MS: '0', INVOICE_GRACE_MS: '86400000' } });
  await setupCatalogue(t);
  customerId = await newCustomer();
  await t.admin.ok(CreateSubscriptionDocument, { input: { customerId, planCode: 'hybrid', startsAt: '2026-03-01T00:00:00Z', baseFeeTiming: 'ARREARS' } });
  walletId = (await t.admin.ok(CreateWalletDocument, { input: { customerId } })).createWallet.wallet.id;
  await t.admin.ok(TopUpWalletDocument, { input: { walletId, amount: '100', idempotencyKey: 'bad-input-fund' } });
});

afterAll(async () => {
  await t?.close();
});

describe('money inputs beyond what the ledger holds', () => {
  it('refuses an overdraft limit of 99999999999 on the field, and keeps the wallet as it was', async () => {
    const update = await t.admin.request(UpdateWalletDocument, { input: { id: walletId, limitMode: 'OVERDRAFT', overdraftLimit: '99999999999' } });
    expect(refusal(update)).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false, paths: ['overdraftLimit'] });
    const other = await newCustomer();
    const create = await t.admin.request(CreateWalletDocument, { input: { customerId: other, limitMode: 'OVERDRAFT', overdraftLimit: '99999999999' } });
    expect(refusal(create)).toMatchObject({ code: 'VALIDATION_FAILED', paths: ['overdraftLimit'] });
    expect((await t.admin.ok(WalletDocument, { id: walletId })).wallet).toMatchObject({ limitMode: 'HARD', overdraftLimit: '0' });
    // The bound itself is accepted.
    const atBound = await t.admin.ok(UpdateWalletDocument, { input: { id: walletId, limitMode: 'OVERDRAFT', overdraftLimit: '1000000000' } });
    expect(atBound.updateWallet.wallet).toMatchObject({ limitMode: 'OVERDRAFT', overdraftLimit: '1000000000' });
    await t.admin.ok(UpdateWalletDocument, { input: { id: walletId, limitMode: 'HARD' } });
  });

  it('refuses top-ups and grants above a billion currency units, and moves no money', async () => {
    for (const amount of ['1000000000.000000001', '9999999999.5', '99999999999']) {
      const topUp = await t.admin.request(TopUpWalletDocument, { input: { walletId, amount, idempotencyKey: `big-${amount}` } });
      expect(refusal(topUp), amount).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false, paths: ['amount'] });
      const grant = await t.admin.request(GrantCreditsDocument, { input: { walletId, amount, idempotencyKey: `big-grant-${amount}` } });
      expect(refusal(grant), amount).toMatchObject({ code: 'VALIDATION_FAILED', paths: ['amount'] });
    }
    expect((await t.admin.ok(WalletDocument, { id: walletId })).wallet!.balance).toBe('100');
  });

  it('refuses a spending cap, an estimate, a base fee and an auto top-up beyond the bound', async () => {
    const cap = await t.admin.request(UpdateCustomerDocument, { input: { id: customerId, spendingCap: '99999999999' } });
    expect(refusal(cap)).toMatchObject({ code: 'VALIDATION_FAILED', paths: ['spendingCap'] });
    const estimate = await t.admin.request(AuthorizeUsageDocument, {
      input: { customerId, meterCode: 'llm_tokens', estimatedAmount: '99999999999', dimensions: { model: 'gpt-4o', tokenType: 'input' }, idempotencyKey: 'big-estimate' },
    });
    expect(refusal(estimate)).toMatchObject({ code: 'VALIDATION_FAILED', paths: ['estimatedAmount'] });
    const plan = await t.admin.request(CreatePlanDocument, { input: { code: 'too-dear', name: 'Too dear', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '99999999999' } });
    expect(refusal(plan)).toMatchObject({ code: 'VALIDATION_FAILED', paths: ['baseFee'] });
    const alert = await t.admin.request(CreateAlertDefinitionDocument, { input: { metric: 'WALLET_AVAILABLE', walletId, direction: 'BELOW', threshold: '10', topUpAmount: '99999999999' } });
    expect(refusal(alert)).toMatchObject({ code: 'VALIDATION_FAILED', paths: ['topUpAmount'] });
  });
});

describe('absurd dates', () => {
  it('refuses a usage report from the year 50 for a customer token, instead of overflowing the stack', async () => {
    const { token } = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId } })).createCustomerToken;
    const result = await t.client(token).request(UsageTotalsDocument, { customerId, from: '0050-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z', granularity: 'DAY' });
    expect(refusal(result)).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false, paths: ['from'] });
    // Written into the document instead of a variable, it is a document error, like a malformed Decimal.
    const literal = await t.client(token).raw(`{ usage(customerId: "${customerId}", from: "0050-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z", granularity: DAY) { customerId } }`);
    expect(codesOf(literal)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('refuses usage events, previews, subscriptions and invoice runs dated in the year 50', async () => {
    const ancient = '0050-06-01T00:00:00Z';
    const usage = await t.admin.request(RecordUsageDocument, { input: { ...gpt4oInput(customerId, 'ancient'), timestamp: ancient } });
    expect(refusal(usage)).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false, message: expect.stringContaining('input.timestamp') });
    const preview = await t.admin.request(PreviewChargeDocument, { input: { ruleSetKey: 'ai-price-book', meterCode: 'llm_tokens', quantity: '1000', dimensions: { model: 'gpt-4o', tokenType: 'input' }, timestamp: ancient } });
    expect(refusal(preview)).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('input.timestamp') });
    const subscription = await t.admin.request(CreateSubscriptionDocument, { input: { customerId: await newCustomer(), planCode: 'api', startsAt: ancient } });
    expect(refusal(subscription)).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('input.startsAt') });
    const close = await t.admin.request(CloseInvoicesDocument, { input: { at: ancient } });
    expect(refusal(close)).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('input.at') });
  });
});

describe('payments dated in the future', () => {
  it('refuses marking an invoice paid in 2999 or beyond five minutes ahead; a payment before finalization is recorded', async () => {
    clock.set('2026-04-02T00:00:00Z');
    await t.admin.ok(CloseInvoicesDocument, { input: { at: '2026-04-02T00:00:00Z' } });
    const [invoice] = (await t.admin.ok(InvoiceStatusesDocument, { customerId })).invoices.nodes;
    expect(invoice).toMatchObject({ status: 'FINALIZED', periodStart: '2026-03-01T00:00:00.000Z' });
    for (const paidAt of ['2999-01-01T00:00:00Z', '2026-04-02T00:05:01Z']) {
      const early = await t.admin.request(MarkInvoicePaidDocument, { input: { invoiceId: invoice!.id, paidAt, paymentReference: 'pi_future' } });
      expect(refusal(early), paidAt).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false, paths: ['paidAt'] });
    }
    expect((await t.admin.ok(InvoiceStatusesDocument, { customerId })).invoices.nodes[0]).toMatchObject({ status: 'FINALIZED', paidAt: null });
    const paid = await t.admin.ok(MarkInvoicePaidDocument, { input: { invoiceId: invoice!.id, paidAt: '2026-03-31T12:00:00Z', paymentReference: 'pi_transfer' } });
    expect(paid.markInvoicePaid.invoice).toMatchObject({ status: 'PAID', paidAt: '2026-03-31T12:00:00.000Z' });
  });
});
