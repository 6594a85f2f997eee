export { IdempotencyRepository, type ClaimResult } from './idempotency.repository.js';
export { requestHash } from './request-hash.js';
