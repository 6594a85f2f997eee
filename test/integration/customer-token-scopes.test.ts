import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlertDefinitionsDocument,
  CreateAlertDefinitionDocument,
  CreateCustomerTokenDocument,
  CurrentPeriodDocument,
  DeleteAlertDefinitionDocument,
  SetCustomerSpendingCapDocument,
  SetWalletAutoRechargeDocument,
  TopUpWalletDocument,
  UpdateAlertDefinitionDocument,
  UpdateCustomerDocument,
  ViewerDocument,
} from '../generated/graphql.js';
import { codesOf, type TestClient } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

/** Customer tokens with the MANAGE scope: a customer's own spending cap and alert thresholds, and nothing more. */
describe('customer token scopes', () => {
  let t: TestApp;
  let a: Funded;
  let b: Funded;
  let reader: TestClient;
  let manager: TestClient;

  const mint = async (customerId: string, scopes?: Array<'READ' | 'MANAGE'>) => (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId, scopes } })).createCustomerToken;

  beforeAll(async () => {
    t = await startTestApp({ store: 'memory' });
    await setupCatalogue(t);
    a = await fundedCustomer(t, '10');
    b = await fundedCustomer(t, '10');
    const read = await mint(a.customerId);
    const manage = await mint(a.customerId, ['MANAGE']);
    expect(read.customerToken.scopes).toEqual(['READ']);
    expect(manage.customerToken.scopes).toEqual(['READ', 'MANAGE']);
    reader = t.client(read.token);
    manager = t.client(manage.token);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('tells a frontend what its credential may do', async () => {
    expect((await reader.ok(ViewerDocument, {})).viewer).toEqual({ role: 'CUSTOMER', customerId: a.customerId, customerToken: true, canManage: false, expiresAt: expect.any(String) });
    expect((await manager.ok(ViewerDocument, {})).viewer).toMatchObject({ role: 'CUSTOMER', customerId: a.customerId, customerToken: true, canManage: true });
    expect((await t.admin.ok(ViewerDocument, {})).viewer).toMatchObject({ role: 'ADMIN', customerId: null, customerToken: false, canManage: true });
    const bad = await t.admin.request(CreateCustomerTokenDocument, { input: { customerId: a.customerId, scopes: ['WRITE' as 'READ'] } });
    expect(codesOf(bad)).toEqual(['VALIDATION_FAILED']);
  });

  it("lets a MANAGE token set its own customer's spending cap, and refuses a READ token and any other customer", async () => {
    const refused = await reader.request(SetCustomerSpendingCapDocument, { input: { customerId: a.customerId, spendingCap: '50' } });
    expect(codesOf(refused)).toEqual(['FORBIDDEN']);
    const set = await manager.ok(SetCustomerSpendingCapDocument, { input: { customerId: a.customerId, spendingCap: '50' } });
    expect(set.setCustomerSpendingCap.customer.spendingCap).toBe('50');
    expect((await reader.ok(CurrentPeriodDocument, { customerId: a.customerId })).currentPeriod.spendingCap?.cap).toBe('50');

    const other = await manager.request(SetCustomerSpendingCapDocument, { input: { customerId: b.customerId, spendingCap: '1' } });
    expect(codesOf(other)).toEqual(['FORBIDDEN']);
    const negative = await manager.request(SetCustomerSpendingCapDocument, { input: { customerId: a.customerId, spendingCap: '-1' } });
    expect(codesOf(negative)).toEqual(['VALIDATION_FAILED']);
    expect((await t.admin.ok(CurrentPeriodDocument, { customerId: b.customerId })).currentPeriod.spendingCap).toBeNull();
    await manager.ok(SetCustomerSpendingCapDocument, { input: { customerId: a.customerId, spendingCap: null } });
    expect((await reader.ok(CurrentPeriodDocument, { customerId: a.customerId })).currentPeriod.spendingCap).toBeNull();
  });

  it("lets a MANAGE token create, change and delete its own customer's alert thresholds, and no one else's", async () => {
    const input = { customerId: a.customerId, metric: 'PERIOD_SPEND' as const, threshold: '5', name: 'Five dollars' };
    expect(codesOf(await reader.request(CreateAlertDefinitionDocument, { input }))).toEqual(['FORBIDDEN']);
    const { definition } = (await manager.ok(CreateAlertDefinitionDocument, { input })).createAlertDefinition;
    expect(definition).toMatchObject({ customerId: a.customerId, metric: 'PERIOD_SPEND', threshold: '5' });
    const wallet = (await manager.ok(CreateAlertDefinitionDocument, { input: { walletId: a.walletId, metric: 'WALLET_BALANCE', threshold: '2' } })).createAlertDefinition.definition;
    expect(wallet.walletId).toBe(a.walletId);
    const changed = (await manager.ok(UpdateAlertDefinitionDocument, { input: { id: definition.id, threshold: '7.5' } })).updateAlertDefinition.definition;
    expect(changed.threshold).toBe('7.5');
    expect(codesOf(await reader.request(UpdateAlertDefinitionDocument, { input: { id: definition.id, threshold: '1' } }))).toEqual(['FORBIDDEN']);

    // Another customer's figures, wallets and definitions are out of reach.
    expect(codesOf(await manager.request(CreateAlertDefinitionDocument, { input: { ...input, customerId: b.customerId } }))).toEqual(['FORBIDDEN']);
    expect(codesOf(await manager.request(CreateAlertDefinitionDocument, { input: { walletId: b.walletId, metric: 'WALLET_BALANCE', threshold: '1' } }))).toEqual(['NOT_FOUND']);
    const theirs = (await t.admin.ok(CreateAlertDefinitionDocument, { input: { ...input, customerId: b.customerId } })).createAlertDefinition.definition;
    expect(codesOf(await manager.request(UpdateAlertDefinitionDocument, { input: { id: theirs.id, threshold: '1' } }))).toEqual(['NOT_FOUND']);
    expect(codesOf(await manager.request(DeleteAlertDefinitionDocument, { input: { id: theirs.id } }))).toEqual(['NOT_FOUND']);
    // Defaults for every new wallet and auto top-ups stay with ADMIN keys.
    expect(codesOf(await manager.request(CreateAlertDefinitionDocument, { input: { metric: 'WALLET_BALANCE', threshold: '1', defaultForNewWallets: true } }))).toEqual(['FORBIDDEN']);
    const topUp = { walletId: a.walletId, metric: 'WALLET_AVAILABLE' as const, direction: 'BELOW' as const, threshold: '1', topUpAmount: '100' };
    expect(codesOf(await manager.request(CreateAlertDefinitionDocument, { input: topUp }))).toEqual(['FORBIDDEN']);
    await t.admin.ok(SetWalletAutoRechargeDocument, { input: { walletId: a.walletId!, threshold: '1', amount: '20' } });
    const recharge = (await t.admin.ok(AlertDefinitionsDocument, { customerId: a.customerId })).alertDefinitions.nodes.find((d) => d.name === 'Auto-recharge')!;
    expect(codesOf(await manager.request(DeleteAlertDefinitionDocument, { input: { id: recharge.id } }))).toEqual(['FORBIDDEN']);

    expect(codesOf(await reader.request(DeleteAlertDefinitionDocument, { input: { id: definition.id } }))).toEqual(['FORBIDDEN']);
    expect((await manager.ok(DeleteAlertDefinitionDocument, { input: { id: definition.id } })).deleteAlertDefinition.id).toBe(definition.id);
    const left = (await reader.ok(AlertDefinitionsDocument, { customerId: a.customerId })).alertDefinitions.nodes.map((d) => d.id);
    expect(left).toEqual(expect.arrayContaining([wallet.id, recharge.id]));
    expect(left).not.toContain(definition.id);
    expect((await t.admin.ok(AlertDefinitionsDocument, { customerId: b.customerId })).alertDefinitions.nodes.map((d) => d.id)).toEqual([theirs.id]);
  });

  it('runs no other mutation with a MANAGE token', async () => {
    const topUp = await manager.request(TopUpWalletDocument, { input: { walletId: a.walletId!, amount: '5', idempotencyKey: 'manage-top-up' } });
    expect(codesOf(topUp)).toEqual(['FORBIDDEN']);
    const update = await manager.request(UpdateCustomerDocument, { input: { id: a.customerId, spendingCap: '1000' } });
    expect(codesOf(update)).toEqual(['FORBIDDEN']);
    const mintOwn = await manager.request(CreateCustomerTokenDocument, { input: { customerId: a.customerId, scopes: ['MANAGE'] } });
    expect(codesOf(mintOwn)).toEqual(['FORBIDDEN']);
  });
});
