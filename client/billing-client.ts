import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { BillingError, ClientErrorCode } from './errors.js';
import { WalletBalanceChangedDocument, type RecordUsageInput, type WalletBalanceChangedSubscription } from './generated/graphql.js';
import { HttpTransport, type FetchLike } from './http-transport.js';
import { backoffDelay, defaultRetryPolicy, sleep, type RetryPolicy } from './retry.js';
import { Batcher } from './usage-batcher.js';
import { UsageSender, type PendingEvent, type RetryInfo, type UsageResult } from './usage-sender.js';

/** The server accepts at most this many events per `recordUsageBatch`. */
const SERVER_BATCH_LIMIT = 1000;
/** The server closes a WebSocket with this code when the key in `connection_init` is refused. */
const FORBIDDEN_CLOSE_CODE = 4403;

export interface BillingClientOptions {
  /** The GraphQL endpoint, e.g. `https://billing.internal/graphql`. */
  url: string;
  /** An INGEST (or ADMIN) key; sent as `Authorization: Bearer <key>` and in `connection_init`. */
  apiKey?: string;
  /** The WebSocket endpoint; by default `url` with `ws:`/`wss:`. */
  wsUrl?: string;
  batch?: {
    /** Send as soon as this many events wait (1 to 1,000; default 100). */
    maxSize?: number;
    /** Send at most this long after the first waiting event arrived (default 20 ms). */
    maxDelayMs?: number;
  };
  retry?: Partial<RetryPolicy>;
  /** Per HTTP request; a request that takes longer is abandoned and retried (default 10 s). */
  requestTimeoutMs?: number;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (info: RetryInfo) => void;
  /** Replaces the global `fetch` (a proxy agent, instrumentation, tests). */
  fetch?: FetchLike;
  /** Replaces the `ws` package as the WebSocket implementation. */
  webSocketImpl?: unknown;
}

/** One usage event; amounts and quantities are decimal strings. */
export type UsageEvent = Omit<RecordUsageInput, 'idempotencyKey' | 'timestamp' | 'customerId'> & {
  customerId?: string | null;
  timestamp?: Date | string | null;
  /** Unique per event for the customer; made up (a random UUID) when left out. */
  idempotencyKey?: string;
};

export type BalanceUpdate = WalletBalanceChangedSubscription['walletBalanceChanged'];
export type BalanceTarget = { walletId: string } | { customerId: string };

/**
 * The integrator's client: records usage in batches with retries that never charge twice, and
 * watches wallet balances live.
 */
export class BillingClient {
  private readonly batcher: Batcher<PendingEvent>;
  private readonly wsUrl: string;
  private readonly retryPolicy: RetryPolicy;
  private ws: WsClient | undefined;
  private closed = false;

  constructor(private readonly options: BillingClientOptions) {
    const transport = new HttpTransport(options.url, options.apiKey, options.fetch ?? ((url, init) => fetch(url, init)), options.requestTimeoutMs ?? 10_000);
    this.retryPolicy = { ...defaultRetryPolicy, ...options.retry };
    const sender = new UsageSender(transport, this.retryPolicy, options.onRetry);
    const maxSize = Math.min(SERVER_BATCH_LIMIT, Math.max(1, options.batch?.maxSize ?? 100));
    this.batcher = new Batcher((batch) => sender.send(batch), maxSize, options.batch?.maxDelayMs ?? 20);
    this.wsUrl = options.wsUrl ?? options.url.replace(/^http/, 'ws');
  }

  /**
   * Queues one event for the next batch. Resolves with its own result (refusals included: a
   * refused event is a result, not an error) and rejects with a BillingError for a bad event
   * or when retries are exhausted. Every retry reuses the event's idempotency key.
   */
  recordUsage(event: UsageEvent): Promise<UsageResult> {
    if (this.closed) return Promise.reject(new BillingError(ClientErrorCode.CLIENT_CLOSED, 'the client is closed', { retryable: false }));
    const { timestamp, idempotencyKey, ...rest } = event;
    const input = {
      ...rest,
      timestamp: timestamp instanceof Date ? timestamp.toISOString() : timestamp,
      idempotencyKey: idempotencyKey ?? globalThis.crypto.randomUUID(),
    };
    return new Promise<UsageResult>((resolve, reject) => this.batcher.add({ input, resolve, reject }));
  }

  /** Sends every waiting event now and resolves once all sent so far are settled. */
  flush(): Promise<void> {
    return this.batcher.drain();
  }

  /**
   * Watches one wallet (or the customer's wallets): `onChange` gets the current state first
   * (`cause: SNAPSHOT`, again after a reconnect), then every change. Returns the unsubscribe.
   */
  subscribeBalance(target: BalanceTarget, onChange: (update: BalanceUpdate) => void, onError?: (error: BillingError) => void): () => void {
    return this.webSocket().subscribe<WalletBalanceChangedSubscription>(
      { query: WalletBalanceChangedDocument.toString(), variables: { ...target } },
      {
        next: (result) => {
          const first = result.errors?.[0];
          if (first) onError?.(new BillingError(String(first.extensions?.code ?? 'INTERNAL_SERVER_ERROR'), first.message));
          else if (result.data) onChange(result.data.walletBalanceChanged);
        },
        error: (err) => onError?.(toSubscriptionError(err)),
        complete: () => undefined,
      },
    );
  }

  /** Sends what waits, waits for every answer (retries included), then closes the WebSocket. */
  async close(): Promise<void> {
    this.closed = true;
    await this.batcher.drain();
    await this.ws?.dispose();
  }

  private webSocket(): WsClient {
    this.ws ??= createClient({
      url: this.wsUrl,
      webSocketImpl: this.options.webSocketImpl ?? WebSocket,
      connectionParams: this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {},
      lazy: true,
      // A live view should come back after any outage: reconnect for as long as the client is
      // open, with the same bounded backoff as requests; never with a key the server refused.
      retryAttempts: Number.POSITIVE_INFINITY,
      retryWait: (retries) => sleep(backoffDelay(retries + 1, this.retryPolicy)),
      shouldRetry: (closed) => (closed as { code?: number }).code !== FORBIDDEN_CLOSE_CODE,
    });
    return this.ws;
  }
}

function toSubscriptionError(err: unknown): BillingError {
  if (Array.isArray(err) && err[0]) {
    const first = err[0] as { message?: string; extensions?: { code?: string } };
    return new BillingError(first.extensions?.code ?? 'INTERNAL_SERVER_ERROR', first.message ?? 'subscription failed');
  }
  if (err instanceof Error) return new BillingError(ClientErrorCode.NETWORK_ERROR, err.message, { retryable: true, cause: err });
  // A CloseEvent: the server closed the socket (4403: bad key).
  const close = err as { code?: number; reason?: string };
  return new BillingError(close.code === FORBIDDEN_CLOSE_CODE ? 'UNAUTHENTICATED' : ClientErrorCode.NETWORK_ERROR, `WebSocket closed (${close.code ?? '?'} ${close.reason ?? ''})`.trim());
}
