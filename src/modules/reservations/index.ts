export type { ReservationStore } from './reservation-store.js';
export { MemoryReservationStore } from './memory-store.js';
export { RedisReservationStore, createRedisClient } from './redis-store.js';
