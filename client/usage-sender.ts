import { BillingError } from './errors.js';
import { RecordUsageBatchDocument, type RecordUsageBatchMutation, type RecordUsageInput } from './generated/graphql.js';
import type { HttpTransport } from './http-transport.js';
import { backoffDelay, sleep, type RetryPolicy } from './retry.js';

type BatchResult = RecordUsageBatchMutation['recordUsageBatch']['results'][number];

/** What one usage event came to: charged (`ACCEPTED`) or refused by the wallet, a cap or a rule (`REFUSED`). */
export interface UsageResult {
  status: 'ACCEPTED' | 'REFUSED';
  /** True when the server returned the stored result of an earlier attempt with this key. */
  replayed: boolean;
  /** The key the event was sent with: the caller's, or the one the client made up. */
  idempotencyKey: string;
  /** Why it was refused (WALLET_INSUFFICIENT_FUNDS, SPENDING_LIMIT_REACHED, RULE_REFUSED, UNPRICED_EVENT, ACCOUNT_SUSPENDED). */
  refusal: BatchResult['refusal'];
  /** The charged event; amounts are decimal strings. */
  event: BatchResult['event'];
}

/** One caller's event waiting for its own outcome. */
export interface PendingEvent {
  input: RecordUsageInput & { idempotencyKey: string };
  resolve(result: UsageResult): void;
  reject(error: BillingError): void;
  lastError?: BillingError;
}

export interface RetryInfo {
  /** The attempt about to be made (2 for the first retry). */
  attempt: number;
  delayMs: number;
  events: number;
  error: BillingError;
}

/**
 * Sends batches of events through `recordUsageBatch` and settles each caller's promise. Failures
 * with a retryable code are retried with backoff, with the same idempotency keys, so a retry of
 * an event the server did charge returns that charge (`replayed`) instead of charging again.
 */
export class UsageSender {
  constructor(
    private readonly transport: HttpTransport,
    private readonly policy: RetryPolicy,
    private readonly onRetry?: (info: RetryInfo) => void,
  ) {}

  /** Settles every event of the batch; never rejects. */
  async send(batch: PendingEvent[]): Promise<void> {
    let remaining = batch;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(remaining);
      if (outcome === 'split') return this.sendHalves(remaining);
      remaining = outcome;
      if (!remaining.length) return;
      if (attempt >= this.policy.maxAttempts) {
        for (const p of remaining) p.reject(p.lastError!);
        return;
      }
      const error = remaining[0]!.lastError!;
      const retryAfter = Math.max(0, ...remaining.map((p) => p.lastError?.retryAfterMs ?? 0));
      const delayMs = backoffDelay(attempt, this.policy, retryAfter);
      this.onRetry?.({ attempt: attempt + 1, delayMs, events: remaining.length, error });
      await sleep(delayMs);
    }
  }

  /**
   * A batch refused as a whole for its input (a value the server could not read) charged
   * nothing and does not say which event was wrong: halve it until the bad events fail alone.
   */
  private async sendHalves(batch: PendingEvent[]): Promise<void> {
    const middle = Math.ceil(batch.length / 2);
    await Promise.all([this.send(batch.slice(0, middle)), this.send(batch.slice(middle))]);
  }

  /** One request: settles what is final and returns what may be retried. */
  private async attempt(batch: PendingEvent[]): Promise<PendingEvent[] | 'split'> {
    let data: RecordUsageBatchMutation;
    try {
      data = await this.transport.request(RecordUsageBatchDocument, { input: { events: batch.map((p) => p.input), atomic: false } });
    } catch (err) {
      const error = err instanceof BillingError ? err : new BillingError('INTERNAL_SERVER_ERROR', String(err), { cause: err });
      if (error.retryable) {
        for (const p of batch) p.lastError = error;
        return batch;
      }
      if (error.code === 'VALIDATION_FAILED' && batch.length > 1) return 'split';
      for (const p of batch) p.reject(error);
      return [];
    }
    const byIndex = new Map(data.recordUsageBatch.results.map((r) => [r.index, r]));
    const retry: PendingEvent[] = [];
    batch.forEach((p, index) => {
      const result = byIndex.get(index);
      if (result?.status === 'ACCEPTED' || result?.status === 'REFUSED') return p.resolve(toUsageResult(result, p.input.idempotencyKey));
      const error = result?.refusal
        ? new BillingError(result.refusal.code, result.refusal.message, { fields: result.refusal.fields })
        : new BillingError('INTERNAL_SERVER_ERROR', `the server returned no result for event ${index}`);
      if (!error.retryable) return p.reject(error);
      p.lastError = error;
      retry.push(p);
    });
    return retry;
  }
}

function toUsageResult(r: BatchResult, idempotencyKey: string): UsageResult {
  const status = r.status === 'ACCEPTED' ? 'ACCEPTED' : 'REFUSED';
  return { status, replayed: r.replayed, idempotencyKey, refusal: r.refusal, event: r.event };
}
