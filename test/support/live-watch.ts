import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import { print, type DocumentNode } from 'graphql';
import WebSocket from 'ws';

/** A live subscription: collects what arrives; next() waits for the following message. */
export class Watch<T = Record<string, any>> {
  readonly received: T[] = [];
  readonly errors: unknown[] = [];
  private read = 0;
  private waiters: Array<() => void> = [];
  private dispose: () => void = () => undefined;

  constructor(client: Client, document: DocumentNode, variables: Record<string, unknown>, field: string) {
    this.dispose = client.subscribe(
      { query: print(document), variables },
      {
        next: (value) => {
          if (value.errors) this.errors.push(...value.errors);
          else this.received.push((value.data as Record<string, T>)[field]!);
          this.waiters.splice(0).forEach((w) => w());
        },
        error: (err) => {
          this.errors.push(err);
          this.waiters.splice(0).forEach((w) => w());
        },
        complete: () => undefined,
      },
    );
  }

  async next(timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.received.length) {
      if (this.errors.length) throw new Error(`subscription failed: ${JSON.stringify(this.errors)}`);
      if (Date.now() > deadline) throw new Error('no message in time');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.received[this.read++]!;
  }

  close(): void {
    this.dispose();
  }
}

/** graphql-ws clients that close() disposes of together. */
export class WsClients {
  private readonly clients: Client[] = [];

  open(url: string, key: string): Client {
    const c = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0, lazy: true });
    this.clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.dispose()));
  }
}

export interface ReceivedHook {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A webhook receiver on a loopback port: keeps every request it gets, answers 200. */
export async function webhookReceiver(into: ReceivedHook[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      into.push({ headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}
