import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordUsageBatchDocument, RecordUsageDocument, UsageDocument, UsageRecordedDocument } from '../generated/graphql.js';
import { WsClients } from '../support/live-watch.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
const sockets = new WsClients();
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await sockets.close();
  await t.close();
});

/** A usage event whose variables break three ways at once (a dimension short of the meter is not a type error). */
const badEvent = {
  input: { externalCustomerId: 'acme', quantity: 12, dimensions: { model: 'gpt-4o' }, idempotencyKey: 'k-1', timestamp: 'yesterday' },
};
const badEventProblems = [
  { path: 'input.meterCode', message: 'is required (String!)' },
  { path: 'input.quantity', message: 'Decimal values are strings such as "12.50", never JSON numbers' },
  { path: 'input.timestamp', message: expect.stringContaining('yesterday') },
];

/** Every variable problem of an operation is one VALIDATION_FAILED error that lists them all. */
function expectOneValidationError(errors: unknown, fields: unknown[]): void {
  expect(errors).toEqual([
    expect.objectContaining({
      message: expect.stringMatching(/^invalid input: /),
      extensions: { code: 'VALIDATION_FAILED', retryable: false, fields },
    }),
  ]);
}

describe('variables that do not coerce, over HTTP', () => {
  it('are one VALIDATION_FAILED error listing each problem at its path, with status 200 for application/json', async () => {
    const result = await t.admin.raw(print(RecordUsageDocument), badEvent);
    expect(result.status).toBe(200);
    expect(result.data ?? null).toBeNull();
    expectOneValidationError(result.errors, badEventProblems);
  });

  it('names list items by index, unknown fields, wrong scalars and enum values, and missing variables', async () => {
    const batch = await t.admin.raw(print(RecordUsageBatchDocument), {
      input: { events: [{ externalCustomerId: 'a', meterCode: 'm', quantity: '1', idempotencyKey: 'b-0' }, { externalCustomerId: 'a', meterCode: 'm', quantity: '1', idempotencyKey: 'b-1', colour: 'red' }] },
    });
    expectOneValidationError(batch.errors, [{ path: 'input.events.1.colour', message: expect.stringMatching(/^is not a field of RecordUsageInput/) }]);

    const report = await t.admin.raw(print(UsageDocument), { customerId: true, from: '2026-03-01T00:00:00Z', granularity: 'WEEK' });
    expectOneValidationError(report.errors, [
      { path: 'customerId', message: expect.stringContaining('ID cannot represent') },
      { path: 'to', message: 'is required (DateTimeISO!)' },
      { path: 'granularity', message: expect.stringContaining('Value "WEEK" does not exist in "UsageGranularity" enum') },
    ]);

    const count = await t.admin.raw('query($n: Int!) { customers(first: $n) { nodes { id } } }', { n: 'ten' });
    expectOneValidationError(count.errors, [{ path: 'n', message: 'Int cannot represent non-integer value: "ten"' }]);
    const nulled = await t.admin.raw('query($n: Int!) { customers(first: $n) { nodes { id } } }', { n: null });
    expectOneValidationError(nulled.errors, [{ path: 'n', message: 'must not be null (Int!)' }]);
  });

  it('keep status 400 for application/graphql-response+json, as GraphQL over HTTP asks', async () => {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${t.adminKey}` },
      body: JSON.stringify({ query: print(RecordUsageDocument), variables: badEvent }),
    });
    expect(res.status).toBe(400);
    expectOneValidationError(((await res.json()) as { errors: unknown }).errors, badEventProblems);
  });
});

describe('variables that do not coerce, over WebSocket', () => {
  it('are the same VALIDATION_FAILED error for queries, mutations and subscriptions', async () => {
    const client = sockets.open(t.wsUrl, t.adminKey);
    const first = (query: string, variables: Record<string, unknown>) =>
      client.iterate({ query, variables }).next().then(
        (r) => r.value as { errors?: unknown },
        (errors: unknown) => ({ errors }),
      );
    expectOneValidationError((await first(print(RecordUsageDocument), badEvent)).errors, badEventProblems);
    const live = await first(print(UsageRecordedDocument), { customerId: false, meterCode: 7 });
    expectOneValidationError(live.errors, [
      { path: 'customerId', message: expect.stringContaining('ID cannot represent') },
      { path: 'meterCode', message: expect.stringContaining('String cannot represent') },
    ]);
  });
});

describe('in production', () => {
  it('lists the problems without suggesting names of the schema', async () => {
    const prod = await startTestApp({ env: { NODE_ENV: 'production' } });
    try {
      const result = await prod.admin.raw(print(RecordUsageDocument), { input: { externalCustomerId: 'a', meterCod: 'm', meterCode: 'm', quantity: '1', idempotencyKey: 'k' } });
      expectOneValidationError(result.errors, [{ path: 'input.meterCod', message: 'is not a field of RecordUsageInput.' }]);
      expect(JSON.stringify(result.errors)).not.toMatch(/Did you mean/);
    } finally {
      await prod.close();
    }
  });
});
