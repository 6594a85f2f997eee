import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateCustomerDocument,
  CustomerByExternalIdDocument,
  CustomerByIdDocument,
  CustomersDocument,
  UpdateCustomerDocument,
} from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const base = { name: 'Acme AI', currency: 'USD' };

describe('customers', () => {
  it('creates a customer and reads it back by id and by external id', async () => {
    const created = await t.admin.ok(CreateCustomerDocument, {
      input: { ...base, externalId: 'acme-1', email: 'billing@acme.test', timezone: 'Europe/Paris', metadata: { tier: 'gold' } },
    });
    const customer = created.createCustomer.customer;
    expect(customer).toMatchObject({ externalId: 'acme-1', currency: 'USD', timezone: 'Europe/Paris', metadata: { tier: 'gold' } });

    const byId = await t.admin.ok(CustomerByIdDocument, { id: customer.id });
    const byExternal = await t.admin.ok(CustomerByExternalIdDocument, { externalId: 'acme-1' });
    expect(byId.customer).toEqual(customer);
    expect(byExternal.customer).toEqual(customer);
  });

  it('answers null for a customer that does not exist', async () => {
    expect((await t.admin.ok(CustomerByExternalIdDocument, { externalId: 'nobody' })).customer).toBeNull();
    expect((await t.admin.ok(CustomerByIdDocument, { id: '00000000-0000-7000-8000-000000000000' })).customer).toBeNull();
  });

  it('refuses a duplicate external id and leaves the first customer as it was', async () => {
    await t.admin.ok(CreateCustomerDocument, { input: { ...base, externalId: 'dup' } });
    const second = await t.admin.request(CreateCustomerDocument, { input: { ...base, name: 'Other', externalId: 'dup' } });
    expect(codesOf(second)).toEqual(['ALREADY_EXISTS']);
    expect((await t.admin.ok(CustomerByExternalIdDocument, { externalId: 'dup' })).customer?.name).toBe('Acme AI');
  });

  it('lists every problem of a bad input and creates nothing', async () => {
    const result = await t.admin.request(CreateCustomerDocument, {
      input: { externalId: 'has space', name: 'x'.repeat(201), currency: 'ABC', email: 'not-an-email', timezone: 'Mars/Olympus', metadata: { nested: { a: 1 } } },
    });
    expect(codesOf(result)).toEqual(['VALIDATION_FAILED']);
    const fields = (result.errors![0]!.extensions!.fields as Array<{ path: string }>).map((f) => f.path);
    expect(fields).toEqual(['externalId', 'name', 'email', 'currency', 'timezone', 'metadata.nested']);
    expect((await t.admin.ok(CustomerByExternalIdDocument, { externalId: 'has space' })).customer).toBeNull();
  });

  it('updates given fields only, clears email with null, and keeps the currency', async () => {
    const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { ...base, externalId: 'upd', email: 'a@b.test' } })).createCustomer;
    const updated = await t.admin.ok(UpdateCustomerDocument, { input: { id: customer.id, name: 'Renamed', email: null } });
    expect(updated.updateCustomer.customer).toMatchObject({ name: 'Renamed', email: null, currency: 'USD', timezone: 'UTC' });
    const bad = await t.admin.request(UpdateCustomerDocument, { input: { id: customer.id, timezone: 'Nowhere/Else' } });
    expect(codesOf(bad)).toEqual(['VALIDATION_FAILED']);
    const missing = await t.admin.request(UpdateCustomerDocument, { input: { id: '00000000-0000-7000-8000-000000000000', name: 'x' } });
    expect(codesOf(missing)).toEqual(['NOT_FOUND']);
  });

  it('pages through customers with cursors, each customer once', async () => {
    for (let i = 0; i < 7; i++) await t.admin.ok(CreateCustomerDocument, { input: { ...base, externalId: `page-${i}` } });
    const seen: string[] = [];
    let after: string | null | undefined;
    for (;;) {
      const page = (await t.admin.ok(CustomersDocument, { first: 3, after })).customers;
      seen.push(...page.nodes.map((n) => n.externalId));
      expect(page.edges.at(-1)?.cursor ?? null).toBe(page.pageInfo.endCursor);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen.filter((e) => e.startsWith('page-'))).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `page-${i}`));
    expect(new Set(seen).size).toBe(seen.length);
    expect(codesOf(await t.admin.request(CustomersDocument, { first: 1000 }))).toEqual(['VALIDATION_FAILED']);
    expect(codesOf(await t.admin.request(CustomersDocument, { after: 'garbage' }))).toEqual(['VALIDATION_FAILED']);
  });
});
