/**
 * The store of live wallet state that every usage event checks and moves in one atomic step.
 * Two implementations share this contract: Redis (production, any number of instances) and an
 * in-process twin (the embedded default, one instance only).
 */
export interface ReservationStore {
  readonly kind: 'redis' | 'memory';
  /** Resolves when the store answers; rejects (quickly) when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
