import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateCustomerDocument,
  CreateWalletDocument,
  GrantCreditsDocument,
  TopUpWalletDocument,
  UpdateWalletDocument,
  WalletDocument,
} from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
let seq = 0;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function newWallet(currency = 'USD') {
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId: `w-${seq++}`, name: 'W', currency } })).createCustomer;
  return (await t.admin.ok(CreateWalletDocument, { input: { customerId: customer.id } })).createWallet.wallet;
}

/** Balance and entry sum straight from the database: the ledger invariant. */
async function ledgerTotals(walletId: string) {
  const [row] = await t.app.sql.query<{ balance: string; version: string; sum: string; n: string; blocks: string }>(
    `select w.balance, w.version,
            (select coalesce(sum(amount), 0) from ledger_entry where wallet_id = w.id) as sum,
            (select count(*) from ledger_entry where wallet_id = w.id) as n,
            (select coalesce(sum(remaining), 0) from credit_block where wallet_id = w.id) as blocks
       from wallet w where w.id = $1`,
    [walletId],
  );
  return row!;
}

describe('wallets', () => {
  it('starts empty in the customer currency with a HARD limit', async () => {
    const wallet = await newWallet();
    expect(wallet).toMatchObject({ currency: 'USD', balance: '0', available: '0', held: '0', limitMode: 'HARD', sequence: '0' });
    const again = await t.admin.request(CreateWalletDocument, { input: { customerId: wallet.customerId } });
    expect(codesOf(again)).toEqual(['ALREADY_EXISTS']);
  });

  it('tops up exactly and returns the first result to a retry', async () => {
    const wallet = await newWallet();
    const input = { walletId: wallet.id, amount: '10.123456789', idempotencyKey: 'pay-1', reference: 'stripe:pi_1' };
    const first = await t.admin.ok(TopUpWalletDocument, { input });
    expect(first.topUpWallet).toMatchObject({ balanceAfter: '10.123456789', replayed: false, entry: { kind: 'TOP_UP', amount: '10.123456789', reference: 'stripe:pi_1' } });
    await t.admin.ok(TopUpWalletDocument, { input: { ...input, amount: '1', idempotencyKey: 'pay-2' } });

    const retry = await t.admin.ok(TopUpWalletDocument, { input: { ...input, amount: '10.1234567890' } });
    expect(retry.topUpWallet.entry).toEqual(first.topUpWallet.entry);
    expect(retry.topUpWallet.balanceAfter).toBe('10.123456789');
    expect(retry.topUpWallet.replayed).toBe(true);
    expect(retry.topUpWallet.wallet.balance).toBe('11.123456789');

    const reused = await t.admin.request(TopUpWalletDocument, { input: { ...input, amount: '99' } });
    expect(codesOf(reused)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(await ledgerTotals(wallet.id)).toMatchObject({ balance: '11123456789', n: '2' });
  });

  it('charges one top-up for many concurrent requests with the same key', async () => {
    const wallet = await newWallet();
    const input = { walletId: wallet.id, amount: '5', idempotencyKey: 'same-key' };
    const results = await Promise.all(Array.from({ length: 20 }, () => t.admin.ok(TopUpWalletDocument, { input })));
    expect(new Set(results.map((r) => r.topUpWallet.entry.id)).size).toBe(1);
    expect(new Set(results.map((r) => r.topUpWallet.balanceAfter))).toEqual(new Set(['5']));
    // One request moved the money; every other one got its answer again.
    expect(results.filter((r) => !r.topUpWallet.replayed)).toHaveLength(1);
    expect(await ledgerTotals(wallet.id)).toMatchObject({ balance: '5000000000', n: '1', sum: '5000000000' });
  });

  it('keeps balance = sum of entries under concurrent top-ups and grants', async () => {
    const wallet = await newWallet();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2
          ? t.admin.ok(TopUpWalletDocument, { input: { walletId: wallet.id, amount: '0.000000001', idempotencyKey: `c-${i}` } })
          : t.admin.ok(GrantCreditsDocument, { input: { walletId: wallet.id, amount: '1.5', idempotencyKey: `g-${i}`, priority: i % 3 } }),
      ),
    );
    const totals = await ledgerTotals(wallet.id);
    expect(totals).toEqual({ balance: '30000000020', version: '40', sum: '30000000020', n: '40', blocks: '30000000020' });
    const read = (await t.admin.ok(WalletDocument, { id: wallet.id })).wallet!;
    expect(read.balance).toBe('30.00000002');
    expect(read.sequence).toBe('40');
  });

  it('keeps each grant in its own block, ordered for consumption, MAIN last', async () => {
    const wallet = await newWallet();
    await t.admin.ok(TopUpWalletDocument, { input: { walletId: wallet.id, amount: '100', idempotencyKey: 'main' } });
    const later = new Date(Date.now() + 86_400_000 * 30).toISOString();
    const sooner = new Date(Date.now() + 86_400_000).toISOString();
    const grant = await t.admin.ok(GrantCreditsDocument, { input: { walletId: wallet.id, amount: '20', idempotencyKey: 'g1', priority: 5, expiresAt: later, reason: 'promo' } });
    expect(grant.grantCredits.creditBlock).toMatchObject({ kind: 'GRANT', priority: 5, granted: '20', remaining: '20', reason: 'promo' });
    expect(grant.grantCredits.replayed).toBe(false);
    const again = await t.admin.ok(GrantCreditsDocument, { input: { walletId: wallet.id, amount: '20', idempotencyKey: 'g1', priority: 5, expiresAt: later, reason: 'promo' } });
    expect(again.grantCredits).toEqual({ ...grant.grantCredits, replayed: true });
    await t.admin.ok(GrantCreditsDocument, { input: { walletId: wallet.id, amount: '3', idempotencyKey: 'g2', priority: 5, expiresAt: sooner } });
    await t.admin.ok(GrantCreditsDocument, { input: { walletId: wallet.id, amount: '7', idempotencyKey: 'g3', priority: 1 } });
    const blocks = (await t.admin.ok(WalletDocument, { id: wallet.id })).wallet!.creditBlocks;
    expect(blocks.map((b) => [b.kind, b.remaining])).toEqual([
      ['GRANT', '7'],
      ['GRANT', '3'],
      ['GRANT', '20'],
      ['MAIN', '100'],
    ]);
    const past = await t.admin.request(GrantCreditsDocument, { input: { walletId: wallet.id, amount: '1', idempotencyKey: 'g4', expiresAt: '2000-01-01T00:00:00Z' } });
    expect(codesOf(past)).toEqual(['VALIDATION_FAILED']);
  });

  it('refuses bad amounts and keys and changes nothing', async () => {
    const wallet = await newWallet();
    const bad = [
      { amount: '0', idempotencyKey: 'k' },
      { amount: '-5', idempotencyKey: 'k' },
      { amount: '1.0000000001', idempotencyKey: 'k' },
      { amount: '10000000000000', idempotencyKey: 'k' },
      { amount: '1', idempotencyKey: '' },
      { amount: '1', idempotencyKey: 'x'.repeat(256) },
    ];
    for (const input of bad) {
      expect(codesOf(await t.admin.request(TopUpWalletDocument, { input: { walletId: wallet.id, ...input } }))).toEqual(['VALIDATION_FAILED']);
    }
    const notDecimal = await t.admin.raw(`mutation { topUpWallet(input: { walletId: "${wallet.id}", amount: "1e3", idempotencyKey: "k" }) { balanceAfter } }`);
    expect(codesOf(notDecimal)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const asNumber = await t.admin.raw('mutation($a: Decimal!) { topUpWallet(input: { walletId: "x", amount: $a, idempotencyKey: "k" }) { balanceAfter } }', { a: 1.5 });
    expect(codesOf(asNumber)).toEqual(['VALIDATION_FAILED']);
    const unknown = await t.admin.request(TopUpWalletDocument, { input: { walletId: '00000000-0000-7000-8000-000000000000', amount: '1', idempotencyKey: 'k' } });
    expect(codesOf(unknown)).toEqual(['NOT_FOUND']);
    expect(await ledgerTotals(wallet.id)).toMatchObject({ balance: '0', n: '0' });
    const [record] = await t.app.sql.query('select count(*)::int as n from idempotency_record where key = $1', ['k']);
    expect(record).toEqual({ n: 0 });
  });

  it('switches limit modes, with an overdraft limit only for OVERDRAFT', async () => {
    const wallet = await newWallet();
    const od = await t.admin.ok(UpdateWalletDocument, { input: { id: wallet.id, limitMode: 'OVERDRAFT', overdraftLimit: '25' } });
    expect(od.updateWallet.wallet).toMatchObject({ limitMode: 'OVERDRAFT', overdraftLimit: '25' });
    const soft = await t.admin.ok(UpdateWalletDocument, { input: { id: wallet.id, limitMode: 'SOFT' } });
    expect(soft.updateWallet.wallet).toMatchObject({ limitMode: 'SOFT', overdraftLimit: '0' });
    expect(codesOf(await t.admin.request(UpdateWalletDocument, { input: { id: wallet.id, limitMode: 'HARD', overdraftLimit: '5' } }))).toEqual(['VALIDATION_FAILED']);
  });
});

describe('ledger invariants enforced by the database', () => {
  it('refuses to edit or delete entries, or to move a balance directly', async () => {
    const wallet = await newWallet();
    await t.admin.ok(TopUpWalletDocument, { input: { walletId: wallet.id, amount: '1', idempotencyKey: 'inv' } });
    await expect(t.app.sql.query('update ledger_entry set amount = 999 where wallet_id = $1', [wallet.id])).rejects.toThrow(/immutable/);
    await expect(t.app.sql.query('delete from ledger_entry where wallet_id = $1', [wallet.id])).rejects.toThrow(/immutable/);
    await expect(t.app.sql.query('update wallet set balance = 999 where id = $1', [wallet.id])).rejects.toThrow(/only through ledger entries/);
    await expect(t.app.sql.query(`update credit_block set remaining = 999 where wallet_id = $1`, [wallet.id])).rejects.toThrow(/only through ledger entries/);
    expect(await ledgerTotals(wallet.id)).toMatchObject({ balance: '1000000000', sum: '1000000000' });
  });

  it('refuses a debit below the floor of a HARD wallet, and allows it down to an overdraft', async () => {
    const wallet = await newWallet();
    await t.admin.ok(TopUpWalletDocument, { input: { walletId: wallet.id, amount: '1', idempotencyKey: 'floor' } });
    const [main] = await t.app.sql.query<{ id: string }>(`select id from credit_block where wallet_id = $1 and kind = 'MAIN'`, [wallet.id]);
    const debit = (units: bigint) =>
      t.app.sql.transaction((c) =>
        t.app.services.wallets.append(c, [], [{ walletId: wallet.id, creditBlockId: main!.id, kind: 'ADJUSTMENT', amount: units, createdAt: new Date() }]),
      );
    await expect(debit(-1_000_000_001n)).rejects.toMatchObject({ code: 'WALLET_INSUFFICIENT_FUNDS' });
    await t.admin.ok(UpdateWalletDocument, { input: { id: wallet.id, limitMode: 'OVERDRAFT', overdraftLimit: '2' } });
    await debit(-3_000_000_000n);
    await expect(debit(-1n)).rejects.toMatchObject({ code: 'WALLET_INSUFFICIENT_FUNDS' });
    expect(await ledgerTotals(wallet.id)).toMatchObject({ balance: '-2000000000', sum: '-2000000000' });
  });
});
