import type { Cluster, Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Limits } from '../config/config.js';
import type { Principal } from '../modules/api-keys/index.js';
import { AppError, ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { costLimitOf } from './operation-limits.js';

/** What an operation draws on: usage ingestion (by events), other mutations, or reads (by cost). */
export type Budget = 'ingest' | 'write' | 'read';

/**
 * Per-credential rate limits with rate-limiter-flexible: shared across instances through Redis
 * (in process without it), with separate budgets, so a flood of reads cannot spend ingestion's
 * and the other way round. Reads are counted in cost, per minute: a credential may spend its
 * per-operation cost limit `readMultiple` times a minute. If Redis cannot answer, an in-process
 * limiter stands in for it.
 */
export class RateLimits {
  private readonly ingest: RateLimiterAbstract;
  private readonly write: RateLimiterAbstract;
  private readonly reads = new Map<number, RateLimiterAbstract>();

  constructor(
    private readonly limits: Limits,
    private readonly redis: { client: Redis | Cluster; prefix: string } | null,
    private readonly logger: Logger,
  ) {
    this.ingest = this.limiter('ingest', limits.ingestPerSecond, 1);
    this.write = this.limiter('write', limits.writePerSecond, 1);
  }

  private limiter(name: string, points: number, duration: number): RateLimiterAbstract {
    const memory = new RateLimiterMemory({ points, duration, keyPrefix: name });
    if (!this.redis) return memory;
    return new RateLimiterRedis({ storeClient: this.redis.client, keyPrefix: `${this.redis.prefix}rl:${name}`, points, duration, insuranceLimiter: memory });
  }

  private readLimiter(principal: Principal): RateLimiterAbstract {
    const points = costLimitOf(principal, this.limits) * this.limits.readMultiple;
    let limiter = this.reads.get(points);
    if (!limiter) this.reads.set(points, (limiter = this.limiter(`read:${points}`, points, 60)));
    return limiter;
  }

  /** Draws `points` from the credential's budget, or throws RATE_LIMITED with when to retry. */
  async consume(principal: Principal, budget: Budget, points: number): Promise<void> {
    const limiter = budget === 'read' ? this.readLimiter(principal) : budget === 'ingest' ? this.ingest : this.write;
    try {
      await limiter.consume(principal.keyId, Math.max(1, Math.ceil(points)));
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) {
        // Neither Redis nor the stand-in could count: let the operation through rather than fail it.
        this.logger.warn({ err: (err as Error).message }, 'rate limiter unavailable');
        return;
      }
      const retryAfterSeconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw new AppError(ErrorCode.RATE_LIMITED, `this credential's ${budget} budget is spent for now; retry in ${retryAfterSeconds} s`, { budget, retryAfterSeconds });
    }
  }
}
