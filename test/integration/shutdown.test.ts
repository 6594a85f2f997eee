import pino from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppServer } from '../../src/app/server.js';
import { sendJson } from '../../src/http/router.js';
import { Metrics } from '../../src/shared/metrics.js';
import { freePort, startServerProcess } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openSocket(url: string, protocol?: string): Promise<{ socket: WebSocket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocol);
    const closed = new Promise<number>((r) => socket.on('close', (code) => r(code)));
    socket.on('open', () => resolve({ socket, closed }));
    socket.on('error', reject);
  });
}

describe('graceful shutdown', () => {
  it('finishes in-flight requests, refuses new connections, and closes sockets with 1001', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const server = new AppServer({
      routes: [{ name: 'slow', path: '/slow', methods: ['GET'], handle: async ({ res }) => (await gate, sendJson(res, 200, { done: true })) }],
      wsPath: '/ws',
      maxMessageBytes: 1 << 20,
      logger: pino({ level: 'silent' }),
      metrics: new Metrics(),
    });
    const { port } = await server.listen(0, '127.0.0.1');
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`);
    const { closed } = await openSocket(`ws://127.0.0.1:${port}/ws`);
    await sleep(50);

    let stopped = false;
    const stopping = server.stop(10_000).then(() => (stopped = true));
    await sleep(50);
    await expect(fetch(`http://127.0.0.1:${port}/slow`)).rejects.toThrow();
    expect(stopped).toBe(false);

    release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await stopping;
    expect(await closed).toBe(1001);
  });
});

describe('billing serve under SIGTERM', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('drains and exits 0, closing GraphQL sockets', async () => {
    const port = await freePort();
    const server = startServerProcess({ DATABASE_URL: t.db.url, PORT: String(port), LOG_LEVEL: 'info', MIGRATE_ON_START: 'false' });
    await server.waitFor(/billing service listening/);
    const { socket, closed } = await openSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t.adminKey}` } }));
    await new Promise((r) => socket.once('message', r));

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(await closed).toBe(1001);
    expect(server.output()).toMatch(/draining and shutting down/);
  });
});
