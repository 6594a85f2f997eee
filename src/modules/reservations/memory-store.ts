import type { ReservationStore } from './reservation-store.js';

/** The in-process reservation store: state lives in this process, so only one instance may run. */
export class MemoryReservationStore implements ReservationStore {
  readonly kind = 'memory' as const;

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
