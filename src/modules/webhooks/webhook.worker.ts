import { performance } from 'node:perf_hooks';
import type { Config } from '../../config/config.js';
import type { SqlPool } from '../../db/sql.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { ADDRESS_REFUSED } from './webhook-address.client.js';
import { postWebhook } from './webhook-request.client.js';
import { signatureHeaders } from './webhook-signature.pure.js';
import { WebhookRepository, type AttemptOutcome, type ClaimedDelivery } from './webhook.repository.js';

/** Deliveries claimed per pass, and how many of them are sent side by side. */
const BATCH = 50;
const CONCURRENCY = 10;

/**
 * The request body of a delivery, Standard Webhooks' payload with the event id: the same bytes for
 * every attempt and every replay of the event.
 */
const deliveryBody = (d: Pick<ClaimedDelivery, 'eventId' | 'topic' | 'occurredAt' | 'payload'>): string =>
  JSON.stringify({ id: d.eventId, type: d.topic, timestamp: d.occurredAt.toISOString(), data: d.payload });

/**
 * Delivers pending webhook deliveries, signed, with retries.
 *
 * Each pass claims due deliveries in PostgreSQL for twice the request timeout, so any number of
 * instances can run it and no attempt is sent twice at once. A 2xx answer delivers; anything
 * else is a failed attempt, retried after retryBaseMs * 2^(attempts-1) (at most retryMaxMs)
 * until maxAttempts, when the delivery is FAILED. disableAfter failed attempts in a row
 * disable the endpoint; re-enabling it resumes its pending deliveries. Requests connect only to
 * public addresses unless allowPrivateNetworks (checked at connect time: see webhook-address.client.ts);
 * a refused address is a failed attempt like any other.
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
    /** Told of each attempt's result: delivered (2xx), rejected (another status), unreachable (no answer). */
    private readonly attempted: (result: 'delivered' | 'rejected' | 'unreachable') => void = () => undefined,
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
      const { outcome, failure } = await this.send(d);
      const delivered = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
      this.attempted(delivered ? 'delivered' : outcome.statusCode !== null ? 'rejected' : 'unreachable');
      if (delivered) {
        if (!(await this.repo.recordSuccess(d, outcome))) this.logger.warn({ deliveryId: d.id }, 'webhook attempt recorded elsewhere first');
        return;
      }
      if (failure === ADDRESS_REFUSED) {
        this.logger.warn(
          { deliveryId: d.id, endpointId: d.endpointId },
          'webhook endpoint is not at a public address: attempt refused (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows private networks)',
        );
      }
      const n = d.attempts + 1;
      const retryAt = new Date(outcome.finishedAt.getTime() + Math.min(this.config.retryBaseMs * 2 ** (n - 1), this.config.retryMaxMs));
      const result = await this.repo.recordFailure(d, outcome, { retryAt, maxAttempts: this.config.maxAttempts, disableAfter: this.config.disableAfter });
      if (!result) {
        this.logger.warn({ deliveryId: d.id }, 'webhook attempt recorded elsewhere first');
      } else if (result.disabledNow) {
        this.logger.error(
          { endpointId: d.endpointId, url: d.url, failures: result.failuresInARow, lastStatus: outcome.statusCode, lastFailure: failure },
          `webhook endpoint disabled after ${result.failuresInARow} failed attempts in a row`,
        );
      } else if (result.status === 'FAILED') {
        this.logger.warn({ deliveryId: d.id, endpointId: d.endpointId, attempts: n, lastStatus: outcome.statusCode, lastFailure: failure }, 'webhook delivery failed for good');
      }
    } catch (err) {
      // The claim lapses and a later pass tries again.
      this.logger.warn({ deliveryId: d.id, err: (err as Error).message }, 'recording a webhook attempt failed');
    }
  }

  /**
   * One POST; never throws: a timeout, a refused address or a connection error is an outcome
   * without a status. `failure` (why there was no status) goes to the server log only.
   */
  private async send(d: ClaimedDelivery): Promise<{ outcome: AttemptOutcome; failure: string | null }> {
    const at = this.clock.now();
    const body = deliveryBody(d);
    // webhook-id is the event's id, so a receiver deduplicates retries and replays alike; the
    // delivery id and attempt tell one request from another in the delivery log.
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'billing-webhooks/2',
      ...signatureHeaders(d.secrets, d.eventId, at, body),
      'billing-delivery-id': d.id,
      'billing-delivery-attempt': String(d.attempts + 1),
    };
    const started = performance.now();
    const result = await postWebhook(d.url, headers, body, { timeoutMs: this.config.timeoutMs, allowPrivateNetworks: this.config.allowPrivateNetworks });
    const outcome = { at, finishedAt: this.clock.now(), statusCode: result.statusCode, durationMs: Math.round(performance.now() - started) };
    return { outcome, failure: result.failure };
  }
}
