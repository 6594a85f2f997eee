import { print } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateApiKeyDocument,
  CreateCustomerTokenDocument,
  CustomerByIdDocument,
  CustomersDocument,
  CustomerWalletsDocument,
  RecordUsageDocument,
  RevokeApiKeyDocument,
  RevokeCustomerTokenDocument,
  TopUpWalletDocument,
  WalletBalanceChangedDocument,
  WalletDocument,
} from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue, type Funded } from '../support/usage-fixtures.js';
import { FixedClock } from '../../src/shared/clock.js';

interface Message {
  type: string;
  id?: string;
  payload?: any;
}

/** A raw graphql-transport-ws socket: collects what arrives, resolves `closed` with the close code and reason. */
class Socket {
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly inbox: Message[] = [];
  private readonly socket: WebSocket;
  private isClosed = false;
  private wake: () => void = () => undefined;

  constructor(url: string) {
    this.socket = new WebSocket(url, 'graphql-transport-ws');
    this.socket.on('message', (data) => {
      this.inbox.push(JSON.parse(String(data)) as Message);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      this.socket.on('close', (code, reason) => {
        this.isClosed = true;
        resolve({ code, reason: reason.toString() });
        this.wake();
      }),
    );
  }

  async send(message: Message): Promise<void> {
    if (this.socket.readyState === WebSocket.CONNECTING) await new Promise((resolve) => this.socket.once('open', resolve));
    this.socket.send(JSON.stringify(message));
  }

  /** The next message of this type (and id); fails once the socket is closed without one, or after 5 s. */
  async next(type: string, id?: string): Promise<Message> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const at = this.inbox.findIndex((m) => m.type === type && (id === undefined || m.id === id));
      if (at >= 0) return this.inbox.splice(at, 1)[0]!;
      if (this.isClosed) throw new Error(`socket closed before a ${type} message`);
      if (Date.now() > deadline) throw new Error(`no ${type} message in time; got ${JSON.stringify(this.inbox)}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

const sockets: Socket[] = [];

/** Opens a socket with the token and watches the customer's balances; resolves after the snapshot arrived. */
async function watching(url: string, token: string, customerId: string): Promise<Socket> {
  const socket = new Socket(url);
  sockets.push(socket);
  await socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
  await socket.next('connection_ack');
  await socket.send({ id: 'balances', type: 'subscribe', payload: { query: print(WalletBalanceChangedDocument), variables: { customerId } } });
  const snapshot = await socket.next('next', 'balances');
  expect(snapshot.payload.data.walletBalanceChanged).toMatchObject({ customerId, cause: 'SNAPSHOT' });
  return socket;
}

const clock = new FixedClock(new Date());
let t: TestApp;
let other: TestApp;
let mine: Funded;
let theirs: Funded;

async function mint(app: TestApp, customerId: string, ttlSeconds?: number) {
  return (await app.admin.ok(CreateCustomerTokenDocument, { input: { customerId, ttlSeconds } })).createCustomerToken;
}

beforeAll(async () => {
  // The periodic re-check is off here, so what closes a socket on this instance is its timer or a revocation notice.
  t = await startTestApp({ clock, env: { CREDENTIAL_RECHECK_MS: '0' } });
  await setupCatalogue(t);
  mine = await fundedCustomer(t, '10');
  theirs = await fundedCustomer(t, '10');
  // A second instance of the same deployment: same PostgreSQL, same Redis prefix; it re-checks its sockets often.
  other = await startTestApp({ db: t.db, redisPrefix: t.redisPrefix, env: { CREDENTIAL_RECHECK_MS: '100' } });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await other?.close();
  await t?.close();
});

describe('minting', () => {
  it('mints a token for one customer with an ADMIN key, 15 minutes by default and up to 24 hours', async () => {
    const byDefault = await mint(t, mine.customerId);
    expect(byDefault.token).toMatch(/^bct_[A-Za-z0-9_-]{40}$/);
    expect(byDefault.customerToken).toMatchObject({ customerId: mine.customerId, revokedAt: null, prefix: byDefault.token.slice(0, 12) });
    expect(new Date(byDefault.customerToken.expiresAt).getTime()).toBe(clock.now().getTime() + 15 * 60_000);
    const day = await mint(t, mine.customerId, 86_400);
    expect(new Date(day.customerToken.expiresAt).getTime()).toBe(clock.now().getTime() + 86_400_000);
    const [row] = await t.app.sql.query<{ secret_hash: Buffer }>('select secret_hash from customer_token where id = $1', [day.customerToken.id]);
    expect(row!.secret_hash.toString('utf8')).not.toContain(day.token.slice(4));
  });

  it('refuses other keys, the token itself, bad lifetimes and unknown customers', async () => {
    const customerKey = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'backend', role: 'CUSTOMER', customerId: mine.customerId } })).createApiKey.secret;
    const ingestKey = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'ingest', role: 'INGEST' } })).createApiKey.secret;
    const { token } = await mint(t, mine.customerId);
    for (const key of [customerKey, ingestKey, token]) {
      expect(codesOf(await t.client(key).request(CreateCustomerTokenDocument, { input: { customerId: mine.customerId } }))).toEqual(['FORBIDDEN']);
    }
    for (const ttlSeconds of [9, 86_401]) {
      const refused = await t.admin.request(CreateCustomerTokenDocument, { input: { customerId: mine.customerId, ttlSeconds } });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: 'ttlSeconds' }] });
    }
    expect(codesOf(await t.admin.request(CreateCustomerTokenDocument, { input: { customerId: '00000000-0000-7000-8000-000000000000' } }))).toEqual(['NOT_FOUND']);
  });
});

describe('what a token may do over HTTP', () => {
  it("reads its own customer's data; another's answers as unknown, and another's listings or an ADMIN listing are FORBIDDEN", async () => {
    const client = t.client((await mint(t, mine.customerId)).token);
    expect((await client.ok(CustomerByIdDocument, { id: mine.customerId })).customer?.id).toBe(mine.customerId);
    expect((await client.ok(CustomerWalletsDocument, { customerId: mine.customerId })).wallets.nodes.map((w) => w.balance)).toEqual(['10']);
    expect((await client.ok(WalletDocument, { id: mine.walletId! })).wallet?.id).toBe(mine.walletId);
    expect((await client.ok(CustomerByIdDocument, { id: theirs.customerId })).customer).toBeNull();
    expect(codesOf(await client.request(CustomerWalletsDocument, { customerId: theirs.customerId }))).toEqual(['FORBIDDEN']);
    expect((await client.ok(WalletDocument, { id: theirs.walletId! })).wallet).toBeNull();
    expect(codesOf(await client.request(CustomersDocument, {}))).toEqual(['FORBIDDEN']);
  });

  it('runs no mutation, not even on its own customer, and changes nothing', async () => {
    const client = t.client((await mint(t, mine.customerId)).token);
    const used = await client.request(RecordUsageDocument, { input: gpt4oInput(mine.customerId, 'token-usage') });
    expect(codesOf(used)).toEqual(['FORBIDDEN']);
    expect(used.errors![0]!.message).toMatch(/customer token may only run queries and subscriptions/);
    expect(codesOf(await client.request(TopUpWalletDocument, { input: { walletId: mine.walletId!, amount: '5', idempotencyKey: 'token-top-up' } }))).toEqual(['FORBIDDEN']);
    expect(codesOf(await client.request(RevokeApiKeyDocument, { input: { id: '00000000-0000-7000-8000-000000000000' } }))).toEqual(['FORBIDDEN']);
    expect((await t.admin.ok(WalletDocument, { id: mine.walletId! })).wallet?.balance).toBe('10');
  });

  it('is UNAUTHENTICATED once expired or revoked', async () => {
    const expiring = await mint(t, mine.customerId, 60);
    const revoked = await mint(t, mine.customerId, 60);
    for (const { token } of [expiring, revoked]) expect((await t.client(token).request(CustomerByIdDocument, { id: mine.customerId })).status).toBe(200);

    await t.admin.ok(RevokeCustomerTokenDocument, { input: { id: revoked.customerToken.id } });
    const afterRevoke = await t.client(revoked.token).request(CustomerByIdDocument, { id: mine.customerId });
    expect(afterRevoke.status).toBe(401);
    expect(codesOf(afterRevoke)).toEqual(['UNAUTHENTICATED']);

    clock.advance(60_000);
    try {
      const afterExpiry = await t.client(expiring.token).request(CustomerByIdDocument, { id: mine.customerId });
      expect(afterExpiry.status).toBe(401);
      expect(codesOf(afterExpiry)).toEqual(['UNAUTHENTICATED']);
      expect(afterExpiry.errors![0]!.message).toMatch(/expired/);
    } finally {
      clock.advance(-60_000);
    }
  });
});

describe('sockets opened with a token', () => {
  it('subscribes to its own customer only, runs no mutation, and refuses an expired token at connection_init', async () => {
    const { token } = await mint(t, mine.customerId);
    const socket = await watching(t.wsUrl, token, mine.customerId);
    await socket.send({ id: 'theirs', type: 'subscribe', payload: { query: print(WalletBalanceChangedDocument), variables: { customerId: theirs.customerId } } });
    expect((await socket.next('next', 'theirs')).payload.errors[0].extensions.code).toBe('FORBIDDEN');
    await socket.send({ id: 'usage', type: 'subscribe', payload: { query: print(RecordUsageDocument), variables: { input: gpt4oInput(mine.customerId, 'token-ws-usage') } } });
    const refused = await socket.next('next', 'usage');
    expect(refused.payload.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(['FORBIDDEN']);
    socket.close();

    const expired = await mint(t, mine.customerId, 10);
    clock.advance(10_000);
    try {
      const late = new Socket(t.wsUrl);
      sockets.push(late);
      await late.send({ type: 'connection_init', payload: { authorization: `Bearer ${expired.token}` } });
      expect((await late.closed).code).toBe(4403);
    } finally {
      clock.advance(-10_000);
    }
  });

  it('is closed with 4403 when the token expires', async () => {
    const { token } = await mint(t, mine.customerId, 60);
    // 200 ms of the token's life left when the socket opens: its timer closes it then.
    clock.advance(59_800);
    try {
      const socket = await watching(t.wsUrl, token, mine.customerId);
      expect(await socket.closed).toEqual({ code: 4403, reason: 'credential expired' });
    } finally {
      clock.advance(-59_800);
    }
  });

  it('is closed with 4403 when the token is revoked on the same instance', async () => {
    const { token, customerToken } = await mint(t, mine.customerId);
    const socket = await watching(t.wsUrl, token, mine.customerId);
    const revoked = await t.admin.ok(RevokeCustomerTokenDocument, { input: { id: customerToken.id } });
    expect(revoked.revokeCustomerToken.customerToken.revokedAt).toBe(clock.now().toISOString());
    expect(await socket.closed).toEqual({ code: 4403, reason: 'credential revoked' });
  });

  it('is closed with 4403, and refused over HTTP, when the token is revoked through another instance', async () => {
    const { token, customerToken } = await mint(t, mine.customerId);
    const reader = t.client(token);
    // Read once so that this instance holds the token in its lookup cache (trusted until the clock moves).
    expect((await reader.ok(CustomerByIdDocument, { id: mine.customerId })).customer?.id).toBe(mine.customerId);
    const socket = await watching(t.wsUrl, token, mine.customerId);

    await other.admin.ok(RevokeCustomerTokenDocument, { input: { id: customerToken.id } });
    expect(await socket.closed).toEqual({ code: 4403, reason: 'credential revoked' });
    expect(codesOf(await reader.request(CustomerByIdDocument, { id: mine.customerId }))).toEqual(['UNAUTHENTICATED']);
  });

  it('is closed by the periodic re-check when a revocation notice never came', async () => {
    const { token, customerToken } = await mint(t, mine.customerId);
    const socket = await watching(other.wsUrl, token, mine.customerId);
    // Revoked behind the service's back: no notice is published, only the re-check can see it.
    await t.app.sql.query('update customer_token set revoked_at = now() where id = $1', [customerToken.id]);
    expect(await socket.closed).toEqual({ code: 4403, reason: 'credential no longer valid' });
  });
});

describe('sockets opened with an API key', () => {
  it('are closed with 4403 when the key is revoked, on any instance', async () => {
    const created = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'frontend', role: 'CUSTOMER', customerId: mine.customerId } })).createApiKey;
    const here = await watching(t.wsUrl, created.secret, mine.customerId);
    const there = await watching(other.wsUrl, created.secret, mine.customerId);
    await t.admin.ok(RevokeApiKeyDocument, { input: { id: created.apiKey.id } });
    expect(await here.closed).toEqual({ code: 4403, reason: 'credential revoked' });
    expect((await there.closed).code).toBe(4403);
  });
});
