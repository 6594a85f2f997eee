import { getMetadataStorage } from 'type-graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppSchema } from '../../src/graphql/schema.js';
import {
  ApiKeysDocument,
  CreateApiKeyDocument,
  CreateCustomerDocument,
  CreateWalletDocument,
  CustomerByExternalIdDocument,
  CustomerByIdDocument,
  CustomersDocument,
  CustomerWalletsDocument,
  RevokeApiKeyDocument,
  WalletDocument,
} from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
let mine: { id: string; walletId: string };
let theirs: { id: string; walletId: string };

async function customerWithWallet(externalId: string) {
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD' } })).createCustomer;
  const { wallet } = (await t.admin.ok(CreateWalletDocument, { input: { customerId: customer.id } })).createWallet;
  return { id: customer.id, walletId: wallet.id };
}

async function key(role: 'ADMIN' | 'INGEST' | 'CUSTOMER', customerId?: string, expiresAt?: string) {
  return (await t.admin.ok(CreateApiKeyDocument, { input: { name: `${role} key`, role, customerId, expiresAt } })).createApiKey;
}

beforeAll(async () => {
  t = await startTestApp();
  mine = await customerWithWallet('mine');
  theirs = await customerWithWallet('theirs');
});
afterAll(() => t.close());

describe('authentication', () => {
  it('refuses requests without a valid bearer key with 401 UNAUTHENTICATED', async () => {
    for (const k of [undefined, 'bk_not_a_real_key']) {
      const result = await t.client(k).request(CustomersDocument, {});
      expect(result.status).toBe(401);
      expect(codesOf(result)).toEqual(['UNAUTHENTICATED']);
      expect(result.data).toBeUndefined();
    }
    const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Basic abc' }, body: '{"query":"{ __typename }"}' });
    expect(res.status).toBe(401);
  });

  it('stores only a hash of each key and shows its secret once', async () => {
    const created = await key('ADMIN');
    const rows = await t.app.sql.query<{ secret_hash: Buffer }>('select secret_hash from api_key where id = $1', [created.apiKey.id]);
    expect(rows[0]!.secret_hash.length).toBe(32);
    expect(rows[0]!.secret_hash.toString('utf8')).not.toContain(created.secret);
    expect(created.apiKey.prefix).toBe(created.secret.slice(0, 10));
    const listed = (await t.admin.ok(ApiKeysDocument, {})).apiKeys.nodes;
    expect(JSON.stringify(listed)).not.toContain(created.secret);
  });

  it('stops accepting a key as soon as it is revoked', async () => {
    const created = await key('ADMIN');
    const client = t.client(created.secret);
    expect(codesOf(await client.request(CustomersDocument, {}))).toEqual([]);
    await t.admin.ok(RevokeApiKeyDocument, { input: { id: created.apiKey.id } });
    expect(codesOf(await client.request(CustomersDocument, {}))).toEqual(['UNAUTHENTICATED']);
  });

  it('stops accepting a key once it expires', async () => {
    const created = await key('ADMIN', undefined, new Date(Date.now() + 1_500).toISOString());
    const client = t.client(created.secret);
    expect(codesOf(await client.request(CustomersDocument, {}))).toEqual([]);
    await new Promise((r) => setTimeout(r, 1_700));
    expect(codesOf(await client.request(CustomersDocument, {}))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('authorisation', () => {
  it('lets a CUSTOMER key read its own customer and wallets, and nothing else', async () => {
    const client = t.client((await key('CUSTOMER', mine.id)).secret);
    expect((await client.ok(CustomerByIdDocument, { id: mine.id })).customer?.id).toBe(mine.id);
    expect((await client.ok(CustomerByExternalIdDocument, { externalId: 'mine' })).customer?.id).toBe(mine.id);
    expect((await client.ok(CustomerWalletsDocument, { customerId: mine.id })).wallets.nodes).toHaveLength(1);
    expect((await client.ok(WalletDocument, { id: mine.walletId })).wallet?.id).toBe(mine.walletId);

    // Another customer's objects answer as unknown ids do: nothing to see, nothing disclosed.
    for (const unseen of await Promise.all([
      client.ok(CustomerByIdDocument, { id: theirs.id }),
      client.ok(CustomerByExternalIdDocument, { externalId: 'theirs' }),
      client.ok(CustomerByExternalIdDocument, { externalId: 'nobody-at-all' }),
      client.ok(WalletDocument, { id: theirs.walletId }),
    ])) {
      expect(Object.values(unseen)).toEqual([null]);
    }
    const denied = await Promise.all([
      client.request(CustomerWalletsDocument, { customerId: theirs.id }),
      client.request(CustomersDocument, {}),
      client.request(CreateCustomerDocument, { input: { externalId: 'x', name: 'x', currency: 'USD' } }),
      client.request(ApiKeysDocument, {}),
    ]);
    for (const result of denied) {
      expect(codesOf(result)).toEqual(['FORBIDDEN']);
      expect(JSON.stringify(result.data ?? null)).not.toContain(theirs.id);
    }
  });

  it('lets an INGEST key do no reads and no admin work', async () => {
    const client = t.client((await key('INGEST')).secret);
    for (const result of [
      await client.request(CustomerByIdDocument, { id: mine.id }),
      await client.request(CustomersDocument, {}),
      await client.request(CreateApiKeyDocument, { input: { name: 'x', role: 'ADMIN' } }),
    ]) {
      expect(codesOf(result)).toEqual(['FORBIDDEN']);
    }
  });

  it('refuses CUSTOMER keys without a customer and customers for other roles', async () => {
    expect(codesOf(await t.admin.request(CreateApiKeyDocument, { input: { name: 'x', role: 'CUSTOMER' } }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(CreateApiKeyDocument, { input: { name: 'x', role: 'INGEST', customerId: mine.id } }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(CreateApiKeyDocument, { input: { name: 'x', role: 'CUSTOMER', customerId: '00000000-0000-7000-8000-000000000000' } }))).toEqual(['NOT_FOUND']);
  });

  it('declares the allowed roles on every query, mutation and subscription', async () => {
    await buildAppSchema(new Map());
    const storage = getMetadataStorage();
    const authorized = new Set(storage.authorizedFields.map((f) => `${f.target.name}.${f.fieldName}`));
    const roots = [...storage.queries, ...storage.mutations, ...storage.subscriptions];
    expect(roots.length).toBeGreaterThan(10);
    const open = roots.filter((h) => !authorized.has(`${h.target.name}.${h.methodName}`)).map((h) => h.schemaName);
    expect(open).toEqual([]);
  });
});
