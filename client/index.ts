/** The integrator client: `new BillingClient({ url, apiKey })`. */
export { BillingClient, type BalanceTarget, type BalanceUpdate, type BillingClientOptions, type UsageEvent } from './billing-client.js';
export { BillingError, ClientErrorCode, RETRYABLE_CODES, type FieldError } from './errors.js';
export type { FetchLike } from './http-transport.js';
export { backoffDelay, defaultRetryPolicy, type RetryPolicy } from './retry.js';
export type { RetryInfo, UsageResult } from './usage-sender.js';
