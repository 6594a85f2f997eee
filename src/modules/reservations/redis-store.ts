import { Redis } from 'ioredis';
import type { ReservationStore } from './reservation-store.js';

/** Client options that make Redis failures fast and visible instead of queued and slow. */
export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
}

export class RedisReservationStore implements ReservationStore {
  readonly kind = 'redis' as const;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
