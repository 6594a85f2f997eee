import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const origin = () => t.url.replace(/\/graphql$/, '');

describe('HTTP endpoints', () => {
  it('reports liveness and readiness of Postgres and the reservation store', async () => {
    expect(await (await fetch(`${origin()}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${origin()}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { postgres: 'ok', reservationStore: 'ok' } });
  });

  it('exposes Prometheus metrics, including request durations', async () => {
    await fetch(`${origin()}/healthz`);
    const res = await fetch(`${origin()}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/billing_http_request_duration_seconds_count\{route="healthz",method="GET",status="200"\} \d+/);
    expect(text).toMatch(/process_cpu_user_seconds_total/);
  });

  it('answers 404 for unknown paths and 405 for wrong methods', async () => {
    expect((await fetch(`${origin()}/nope`)).status).toBe(404);
    const res = await fetch(`${origin()}/healthz`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('serves queries over GET and refuses mutations over GET', async () => {
    const headers = { authorization: `Bearer ${t.adminKey}` };
    const query = await fetch(`${t.url}?query=${encodeURIComponent('{ customers { nodes { id } } }')}`, { headers });
    expect(query.status).toBe(200);
    expect(await query.json()).toEqual({ data: { customers: { nodes: [] } } });
    const mutation = await fetch(`${t.url}?query=${encodeURIComponent('mutation { createCustomer(input: {externalId: "g", name: "g", currency: "USD"}) { customer { id } } }')}`, { headers });
    expect(mutation.status).toBe(405);
  });

  it('refuses malformed JSON with 400 and oversized bodies with 413', async () => {
    const headers = { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' };
    const bad = await fetch(t.url, { method: 'POST', headers, body: '{"query": ' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    const huge = await fetch(t.url, { method: 'POST', headers, body: JSON.stringify({ query: '{ __typename }', pad: 'x'.repeat(5 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
  });

  it('masks unexpected errors and never leaks internals', async () => {
    const result = await t.admin.raw('query($id: ID!) { wallet(id: $id) { entries(after: "YzE6eHh4") { nodes { id } } id } }', { id: '00000000-0000-7000-8000-000000000000' });
    expect(result.errors ?? []).toEqual([]);
    await t.app.sql.query('alter table meter rename to meter_gone');
    try {
      const broken = await t.admin.raw('{ meters { nodes { code } } }');
      expect(broken.errors).toHaveLength(1);
      expect(broken.errors![0]).toMatchObject({ message: 'Internal server error', path: ['meters'], extensions: { code: 'INTERNAL_SERVER_ERROR', retryable: false } });
      expect(JSON.stringify(broken)).not.toMatch(/meter_gone|relation|select/);
    } finally {
      await t.app.sql.query('alter table meter_gone rename to meter');
    }
  });
});

describe('production settings', () => {
  it('turns introspection off when NODE_ENV=production', async () => {
    const prod = await startTestApp({ env: { NODE_ENV: 'production' } });
    try {
      const result = await prod.admin.raw('{ __schema { types { name } } }');
      expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    } finally {
      await prod.close();
    }
    const result = await t.admin.raw('{ __schema { queryType { name } } }');
    expect(result.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });
});
