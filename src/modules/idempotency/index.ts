export { IdempotencyRepository } from './idempotency.repository.js';
export { requestHash } from './request-hash.pure.js';
