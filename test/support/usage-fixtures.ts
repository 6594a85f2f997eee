import {
  CreateCustomerDocument,
  CreateMeterDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  CreateWalletDocument,
  TopUpWalletDocument,
  UpdateWalletDocument,
} from '../generated/graphql.js';
import type { TestApp } from './test-app.js';

let seq = 0;

/** The shared catalogue: the llm_tokens meter and plans on the shipped rule sets. */
export async function setupCatalogue(t: TestApp): Promise<void> {
  await t.admin.ok(CreateMeterDocument, { input: { code: 'llm_tokens', name: 'LLM tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'tokenType'] } });
  await t.admin.ok(CreateMeterDocument, { input: { code: 'images', name: 'Images', aggregation: 'COUNT', dimensions: ['size', 'quality'] } });
  await t.admin.ok(CreatePlanDocument, { input: { code: 'api', name: 'API', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '0', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'ai-price-book' }] } });
  await t.admin.ok(CreatePlanDocument, { input: { code: 'hybrid', name: 'Hybrid', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '49', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'hybrid-plan' }] } });
}

export interface Funded {
  customerId: string;
  externalId: string;
  walletId: string | null;
}

/** A customer on a plan (since an hour ago unless startsAt), with a wallet topped up by `funds` (or postpaid when funds is null). */
export async function fundedCustomer(t: TestApp, funds: string | null, opts: { plan?: string; limitMode?: 'HARD' | 'SOFT' | 'OVERDRAFT'; overdraftLimit?: string; spendingCap?: string; startsAt?: Date } = {}): Promise<Funded> {
  const externalId = `u-${process.pid}-${seq++}`;
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD', spendingCap: opts.spendingCap } })).createCustomer;
  await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: opts.plan ?? 'api', startsAt: (opts.startsAt ?? new Date(Date.now() - 3_600_000)).toISOString() } });
  if (funds === null) return { customerId: customer.id, externalId, walletId: null };
  const { wallet } = (await t.admin.ok(CreateWalletDocument, { input: { customerId: customer.id } })).createWallet;
  if (opts.limitMode) await t.admin.ok(UpdateWalletDocument, { input: { id: wallet.id, limitMode: opts.limitMode, overdraftLimit: opts.overdraftLimit } });
  if (funds !== '0') await t.admin.ok(TopUpWalletDocument, { input: { walletId: wallet.id, amount: funds, idempotencyKey: `fund-${externalId}` } });
  return { customerId: customer.id, externalId, walletId: wallet.id };
}

/** gpt-4o input tokens: 2.50 per million, so 100,000 tokens cost exactly 0.25. */
export const gpt4oInput = (customerId: string, key: string, quantity = '100000') => ({
  customerId,
  meterCode: 'llm_tokens',
  quantity,
  dimensions: { model: 'gpt-4o', tokenType: 'input' },
  idempotencyKey: key,
});

/** Sums straight from PostgreSQL: the ledger invariant and what was charged. */
export async function ledgerState(t: TestApp, walletId: string) {
  const [row] = await t.app.sql.query<{ balance: string; entries: string; usage: string; events: string; charged: string }>(
    `select w.balance,
            (select coalesce(sum(amount), 0) from ledger_entry where wallet_id = w.id) as entries,
            (select coalesce(sum(amount), 0) from ledger_entry where wallet_id = w.id and kind = 'USAGE') as usage,
            (select count(*) from usage_event where wallet_id = w.id) as events,
            (select coalesce(sum(charged), 0) from usage_event where wallet_id = w.id) as charged
       from wallet w where w.id = $1`,
    [walletId],
  );
  return row!;
}
