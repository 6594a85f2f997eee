import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateCustomerTokenDocument, RecordUsageDocument } from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

/**
 * A customer token lives in a browser and is assumed to be in an attacker's hands: what it may
 * ask is limited before anything runs, on HTTP and WebSocket alike.
 */
let t: TestApp;
let victim: Funded;
let token: string;

const tokenFor = async (app: TestApp, customerId: string) => (await app.admin.ok(CreateCustomerTokenDocument, { input: { customerId, ttlSeconds: 3600 } })).createCustomerToken.token;

beforeAll(async () => {
  t = await startTestApp({ env: { RATE_LIMIT_READ_MULTIPLE: '1000' } });
  await setupCatalogue(t);
  victim = await fundedCustomer(t, '10');
  token = await tokenFor(t, victim.customerId);
});
afterAll(() => t?.close());

const aliases = (n: number, field: string) => `query { ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

async function ask(query: string, key = token, variables: Record<string, unknown> = {}) {
  const res = await fetch(t.url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } };
}

const ws = (key: string, app = t): Client => createClient({ url: app.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, lazy: true, retryAttempts: 0 });

async function askOverSocket(client: Client, query: string) {
  const it = client.iterate({ query });
  try {
    return (await it.next()).value as { errors?: Array<{ extensions?: Record<string, unknown> }> };
  } catch (err) {
    return { errors: (err as Array<{ extensions?: Record<string, unknown> }>) ?? [] };
  } finally {
    await it.return?.();
  }
}

describe('query limits', () => {
  it('refuses 1,000 aliases of upcomingInvoice before running anything', async () => {
    // The document alone is more than 10,000 tokens: refused while parsing.
    const flood = await ask(aliases(1000, `upcomingInvoice(customerId: "${victim.customerId}") { projected { total } }`));
    expect(flood.body.data).toBeUndefined();
    expect(flood.body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens', max: 10000 });
    const fewer = await ask(aliases(500, `upcomingInvoice(customerId: "${victim.customerId}") { projected { total } }`));
    expect(fewer.body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases', max: 30, found: 500 });
  });

  it('prices the expensive fields: 10 upcomingInvoice aliases cost more than a customer token may spend', async () => {
    const r = await ask(aliases(10, `upcomingInvoice(customerId: "${victim.customerId}") { projected { total } }`));
    const ext = r.body.errors![0]!.extensions!;
    expect(ext).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost', max: 2000 });
    expect(ext.cost as number).toBeGreaterThan(2000);
    expect(r.body.errors![0]!.message).toMatch(/^the operation costs \d+, more than the 2000 this credential may spend on one operation$/);
    // An ADMIN key has more to spend.
    expect((await ask(aliases(10, `upcomingInvoice(customerId: "${victim.customerId}") { projected { total } }`), t.adminKey)).body.errors).toBeUndefined();
  });

  it('prices usage by its buckets and groups: a month by hour and model is refused, by day it runs', async () => {
    const usage = (granularity: string) =>
      `query { usage(customerId: "${victim.customerId}", from: "2026-10-01T00:00:00Z", to: "2026-10-31T00:00:00Z", granularity: ${granularity}, groupBy: { dimensions: ["model"] }) { buckets { start groups { quantity amount } } } }`;
    expect((await ask(usage('HOUR'))).body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost' });
    expect((await ask(usage('DAY'))).body.errors).toBeUndefined();
  });

  it('refuses tokens and directives beyond their limits', async () => {
    const tokens = `query { ${Array.from({ length: 11000 }, () => '__typename').join(' ')} }`;
    expect((await ask(tokens, t.adminKey)).body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens', max: 10000 });
    const directives = `query { __typename ${'@include(if: true) '.repeat(25)}}`;
    expect((await ask(directives, t.adminKey)).body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'directives', max: 20 });
  });

  it('holds over WebSocket as over HTTP', async () => {
    const client = ws(token);
    try {
      const flood = await askOverSocket(client, aliases(1000, `upcomingInvoice(customerId: "${victim.customerId}") { projected { total } }`));
      expect(flood.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens' });
      const many = await askOverSocket(client, aliases(500, `upcomingInvoice(customerId: "${victim.customerId}") { projected { total } }`));
      expect(many.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases' });
      const costly = await askOverSocket(client, aliases(10, `upcomingInvoice(customerId: "${victim.customerId}") { projected { total } }`));
      expect(costly.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost' });
    } finally {
      await client.dispose();
    }
  });
});

describe('rate limits and caps', () => {
  let app: TestApp;
  let payer: Funded;
  beforeAll(async () => {
    app = await startTestApp({
      env: { QUERY_COST_LIMIT_CUSTOMER_TOKEN: '100', RATE_LIMIT_READ_MULTIPLE: '3', RATE_LIMIT_INGEST_PER_SECOND: '5', WS_MAX_SOCKETS_PER_CREDENTIAL: '2', WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '3' },
    });
    await setupCatalogue(app);
    payer = await fundedCustomer(app, '10');
  });
  afterAll(() => app?.close());

  it('answers a credential over its read budget with HTTP 429, Retry-After and a retryable RATE_LIMITED; other credentials are not affected', async () => {
    const mine = await tokenFor(app, payer.customerId);
    const theirs = await tokenFor(app, payer.customerId);
    const query = `query { wallet(id: "${payer.walletId}") { balance available held currency } }`;
    let limited;
    for (let i = 0; i < 200 && !limited; i++) {
      const res = await fetch(app.url, { method: 'POST', headers: { authorization: `Bearer ${mine}`, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      if (res.status === 429) limited = { res, body: (await res.json()) as { errors: Array<{ extensions: Record<string, unknown> }> } };
    }
    expect(limited).toBeDefined();
    expect(Number(limited!.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited!.body.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryable: true, budget: 'read' });
    const other = await fetch(app.url, { method: 'POST', headers: { authorization: `Bearer ${theirs}`, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    expect(other.status).toBe(200);
  });

  it('limits ingestion per credential, apart from reads', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await app.admin.request(RecordUsageDocument, { input: gpt4oInput(payer.customerId, `rate-${i}`) });
      codes.push(r.data?.recordUsage.status === 'ACCEPTED' ? 'ACCEPTED' : String(r.errors?.[0]?.extensions?.code));
    }
    expect(codes.filter((c) => c === 'ACCEPTED').length).toBeGreaterThanOrEqual(5);
    expect(codes).toContain('RATE_LIMITED');
  });

  it('caps open sockets per credential (4429) and operations per socket (LIMIT_EXCEEDED)', async () => {
    const key = await tokenFor(app, payer.customerId);
    const open = (): Promise<{ socket: WebSocket; closed: Promise<number> }> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws');
        const closed = new Promise<number>((r) => socket.on('close', (code) => r(code)));
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
        socket.on('message', () => resolve({ socket, closed }));
        socket.on('close', () => resolve({ socket, closed }));
        socket.on('error', reject);
      });
    const first = await open();
    const second = await open();
    const third = await open();
    expect(await third.closed).toBe(4429);
    const subscribe = (id: string) => first.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: `subscription { walletBalanceChanged(customerId: "${payer.customerId}") { balance } }` } }));
    const replies: Array<{ id: string; type: string; payload?: Array<{ extensions?: { code?: string } }> }> = [];
    first.socket.on('message', (d) => replies.push(JSON.parse(String(d))));
    for (const id of ['s1', 's2', 's3', 's4']) subscribe(id);
    for (let i = 0; i < 50 && !replies.some((r) => r.id === 's4'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(replies.find((r) => r.id === 's4')).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'LIMIT_EXCEEDED' } }] });
    expect(replies.filter((r) => r.type === 'error' && r.id !== 's4')).toEqual([]);
    first.socket.close();
    second.socket.close();
  });
});

describe('depth', () => {
  it('refuses an operation deeper than the depth limit', async () => {
    const shallow = await startTestApp({ env: { GRAPHQL_MAX_DEPTH: '3' } });
    try {
      const deep = `query { invoices(customerId: "00000000-0000-0000-0000-000000000000", first: 1) { nodes { lines { amount } } } }`;
      const r = await fetch(shallow.url, { method: 'POST', headers: { authorization: `Bearer ${shallow.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: deep }) });
      expect(((await r.json()) as { errors: Array<{ extensions: unknown }> }).errors[0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'depth', max: 3, found: 4 });
    } finally {
      await shallow.close();
    }
  });
});

describe('production means closed', () => {
  let prod: TestApp;
  beforeAll(async () => {
    prod = await startTestApp({ env: { NODE_ENV: 'production' } });
  });
  afterAll(() => prod?.close());

  it('refuses introspection over WebSocket as over HTTP, and masks "Did you mean" suggestions', async () => {
    const http = await fetch(prod.url, { method: 'POST', headers: { authorization: `Bearer ${prod.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { types { name } } }' }) });
    expect(((await http.json()) as { errors: unknown[] }).errors.length).toBeGreaterThan(0);
    const client = ws(prod.adminKey, prod);
    try {
      const r = await askOverSocket(client, '{ __schema { types { name } } }');
      expect(r.errors?.length).toBeGreaterThan(0);
      expect(JSON.stringify(r)).not.toMatch(/"types"/);
      const typo = await askOverSocket(client, '{ customr(id: "x") { id } }');
      expect(JSON.stringify(typo.errors)).not.toMatch(/Did you mean/);
    } finally {
      await client.dispose();
    }
    const typo = await fetch(prod.url, { method: 'POST', headers: { authorization: `Bearer ${prod.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ customr(id: "x") { id } }' }) });
    expect(await typo.text()).not.toMatch(/Did you mean/);
  });
});
