import { createClient } from 'graphql-ws';
import { print } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateApiKeyDocument, CreateCustomerDocument, CustomerByIdDocument } from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

function wsClient(key: string) {
  return createClient({ url: t.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, lazy: true, retryAttempts: 0 });
}

/** Opens a raw socket, sends connection_init with these params, and tells what came back first. */
function answerTo(params: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: params })));
    socket.on('message', (data) => {
      resolve(`message ${(JSON.parse(String(data)) as { type: string }).type}`);
      socket.close();
    });
    socket.on('close', (code) => resolve(`close ${code}`));
    socket.on('error', reject);
  });
}

describe('GraphQL over WebSocket', () => {
  it('runs queries and mutations with the key given in connection_init, formatted as over HTTP', async () => {
    const client = wsClient(t.adminKey);
    try {
      const created = await client.iterate({ query: print(CreateCustomerDocument), variables: { input: { externalId: 'ws-1', name: 'WS', currency: 'USD' } } }).next();
      const id = (created.value as { data: { createCustomer: { customer: { id: string } } } }).data.createCustomer.customer.id;
      const read = await client.iterate({ query: print(CustomerByIdDocument), variables: { id } }).next();
      expect(read.value).toMatchObject({ data: { customer: { id, externalId: 'ws-1' } } });
      const dup = await client.iterate({ query: print(CreateCustomerDocument), variables: { input: { externalId: 'ws-1', name: 'WS', currency: 'USD' } } }).next();
      expect(dup.value).toMatchObject({ errors: [{ extensions: { code: 'ALREADY_EXISTS' } }] });
    } finally {
      await client.dispose();
    }
  });

  it('applies the same authorisation to socket operations as to HTTP', async () => {
    const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId: 'ws-other', name: 'O', currency: 'USD' } })).createCustomer;
    const ingest = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'i', role: 'INGEST' } })).createApiKey.secret;
    const client = wsClient(ingest);
    try {
      const read = await client.iterate({ query: print(CustomerByIdDocument), variables: { id: customer.id } }).next();
      expect(read.value).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    } finally {
      await client.dispose();
    }
  });

  it('closes the socket with 4403 when connection_init carries no valid key', async () => {
    expect(await answerTo({ authorization: 'Bearer bk_wrong' })).toBe('close 4403');
    expect(await answerTo({})).toBe('close 4403');
    expect(await answerTo({ apiKey: t.adminKey })).toBe('message connection_ack');
  });
});
