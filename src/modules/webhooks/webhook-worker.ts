import { performance } from 'node:perf_hooks';
import type { Config } from '../../config/config.js';
import type { SqlPool } from '../../db/sql.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { signPayload } from './webhook-signature.js';
import { WebhookRepository, type AttemptOutcome, type ClaimedDelivery } from './webhook.repository.js';

/** Deliveries claimed per pass, and how many of them are sent side by side. */
const BATCH = 50;
const CONCURRENCY = 10;

/** The request body of a delivery: the same bytes for every attempt. */
const deliveryBody = (d: Pick<ClaimedDelivery, 'eventId' | 'topic' | 'createdAt' | 'payload'>): string =>
  JSON.stringify({ id: d.eventId, topic: d.topic, createdAt: d.createdAt.toISOString(), data: d.payload });

/**
 * Delivers pending webhook deliveries, signed, with retries.
 *
 * Each pass claims due deliveries in PostgreSQL for twice the request timeout, so any number of
 * instances can run it and no attempt is sent twice at once. A 2xx answer delivers; anything
 * else is a failed attempt, retried after retryBaseMs * 2^(attempts-1) (at most retryMaxMs)
 * until maxAttempts, when the delivery is FAILED. disableAfter failed attempts in a row
 * disable the endpoint; re-enabling it resumes its pending deliveries.
 */
export class WebhookWorker {
  private readonly repo: WebhookRepository;
  private timer: NodeJS.Timeout | undefined;
  private pokeTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    readonly sql: SqlPool,
    readonly clock: Clock,
    readonly logger: Logger,
    readonly config: Config['webhooks'],
  ) {
    this.repo = new WebhookRepository(sql);
  }

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.config.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.pokeTimer);
    this.timer = this.pokeTimer = undefined;
    await this.running;
  }

  /** Looks for due deliveries now (new ones were just committed). */
  poke(): void {
    if (this.stopped || this.pokeTimer) return;
    this.pokeTimer = setTimeout(() => {
      this.pokeTimer = undefined;
      this.kick();
    }, 5);
    this.pokeTimer.unref();
  }

  /** Claims one batch of due deliveries and attempts each once; returns how many it attempted. */
  async runOnce(): Promise<number> {
    // The claim must outlast every attempt it covers, or another worker could claim a delivery
    // again and send it twice: a batch runs in rounds of CONCURRENCY attempts of at most
    // timeoutMs each, plus one timeoutMs of slack for recording the outcomes.
    const timeout = this.config.timeoutMs;
    const lockMs = timeout * (Math.ceil(BATCH / CONCURRENCY) + 1);
    const claimedAt = this.clock.now().getTime();
    const claimed = await this.repo.claimDue(new Date(claimedAt), lockMs, BATCH);
    let next = 0;
    const lane = async () => {
      while (next < claimed.length) {
        const d = claimed[next++]!;
        // A stalled process leaves the rest of its batch to the claim that follows the lease.
        if (this.clock.now().getTime() + timeout > claimedAt + lockMs) continue;
        await this.attempt(d);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, claimed.length) }, lane));
    return claimed.length;
  }

  /** Starts a round of passes unless one is running, in which case that one goes round again. */
  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.passes().finally(() => (this.running = undefined));
  }

  private async passes(): Promise<void> {
    do {
      this.again = false;
      try {
        if ((await this.runOnce()) === BATCH) this.again = true;
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'webhook pass failed; the next one retries');
        return;
      }
    } while (this.again && !this.stopped);
  }

  private async attempt(d: ClaimedDelivery): Promise<void> {
    try {
      const outcome = await this.send(d);
      if (outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300) {
        if (!(await this.repo.recordSuccess(d, outcome))) this.logger.warn({ deliveryId: d.id }, 'webhook attempt recorded elsewhere first');
        return;
      }
      const n = d.attempts + 1;
      const retryAt = new Date(outcome.finishedAt.getTime() + Math.min(this.config.retryBaseMs * 2 ** (n - 1), this.config.retryMaxMs));
      const result = await this.repo.recordFailure(d, outcome, { retryAt, maxAttempts: this.config.maxAttempts, disableAfter: this.config.disableAfter });
      if (!result) {
        this.logger.warn({ deliveryId: d.id }, 'webhook attempt recorded elsewhere first');
      } else if (result.disabledNow) {
        this.logger.error(
          { endpointId: d.endpointId, url: d.url, failures: result.failuresInARow, lastError: outcome.error },
          `webhook endpoint disabled after ${result.failuresInARow} failed attempts in a row`,
        );
      } else if (result.status === 'FAILED') {
        this.logger.warn({ deliveryId: d.id, endpointId: d.endpointId, attempts: n, lastError: outcome.error }, 'webhook delivery failed for good');
      }
    } catch (err) {
      // The claim lapses and a later pass tries again.
      this.logger.warn({ deliveryId: d.id, err: (err as Error).message }, 'recording a webhook attempt failed');
    }
  }

  /** One POST; never throws: a timeout or connection error is an outcome without a status. */
  private async send(d: ClaimedDelivery): Promise<AttemptOutcome> {
    const at = this.clock.now();
    const body = deliveryBody(d);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'billing-webhooks/1',
      'billing-signature': signPayload(d.secret, Math.floor(at.getTime() / 1000), body),
      'billing-event-id': d.eventId,
      'billing-delivery-id': d.id,
      'billing-delivery-attempt': String(d.attempts + 1),
    };
    const started = performance.now();
    const duration = () => Math.round(performance.now() - started);
    try {
      const res = await fetch(d.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.config.timeoutMs) });
      await res.body?.cancel().catch(() => undefined);
      const ok = res.status >= 200 && res.status < 300;
      return { at, finishedAt: this.clock.now(), statusCode: res.status, error: ok ? null : `the endpoint answered HTTP ${res.status}`, durationMs: duration() };
    } catch (err) {
      return { at, finishedAt: this.clock.now(), statusCode: null, error: describeFailure(err, this.config.timeoutMs), durationMs: duration() };
    }
  }
}

/** A short reason for a request that got no answer, without stack or internals. */
function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string } };
  if (e?.name === 'TimeoutError') return `timeout: no answer within ${timeoutMs} ms`;
  const code = e?.cause?.code;
  return code ? `connection failed (${code})` : 'connection failed';
}
