/**
 * Error codes of the server's catalogue (README, "Error codes") that the client may retry: the
 * request changed nothing and may succeed later. Mirrors `AppError.retryable` on the server; a
 * unit test fails if the two drift.
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['SERVICE_UNAVAILABLE', 'CONFLICT', 'RATE_LIMITED']);

/** Codes the client itself gives to failures that never reached a GraphQL answer. */
export const ClientErrorCode = {
  /** The request or its reply was lost (connection refused, reset, timed out). */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** An HTTP answer without a GraphQL body (a proxy's 502, a 429...); `status` says which. */
  HTTP_ERROR: 'HTTP_ERROR',
  /** `recordUsage` after `close()`. */
  CLIENT_CLOSED: 'CLIENT_CLOSED',
} as const;

export interface FieldError {
  path: string;
  message: string;
}

export interface BillingErrorDetails {
  retryable?: boolean;
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** Input problems (with VALIDATION_FAILED). */
  fields?: FieldError[];
  /** How long the server asked to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** A failed call: `code` is the server's `extensions.code` or one of `ClientErrorCode`. */
export class BillingError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly fields: FieldError[];
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, details: BillingErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'BillingError';
    this.code = code;
    this.retryable = details.retryable ?? RETRYABLE_CODES.has(code);
    this.status = details.status;
    this.fields = details.fields ?? [];
    this.retryAfterMs = details.retryAfterMs;
  }
}
