/**
 * The domain error catalogue. Every error the API returns carries one of these codes in
 * `extensions.code`; the README lists them. Codes are part of the public contract: never
 * rename one, only add.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  AMOUNT_OUT_OF_RANGE: 'AMOUNT_OUT_OF_RANGE',
  WALLET_INSUFFICIENT_FUNDS: 'WALLET_INSUFFICIENT_FUNDS',
  SPENDING_LIMIT_REACHED: 'SPENDING_LIMIT_REACHED',
  RULE_REFUSED: 'RULE_REFUSED',
  RULE_SET_IS_COST_BOOK: 'RULE_SET_IS_COST_BOOK',
  ACCOUNT_SUSPENDED: 'ACCOUNT_SUSPENDED',
  RESERVATION_CLOSED: 'RESERVATION_CLOSED',
  CONFLICT: 'CONFLICT',
  EVENTS_NOT_RETAINED: 'EVENTS_NOT_RETAINED',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  RATE_LIMITED: 'RATE_LIMITED',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One problem with one input field; `path` is the dotted path inside the input. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** HTTP status that goes with each code when the error is the whole response. */
const httpStatusOf: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  SERVICE_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
};

/**
 * An expected failure, safe to show to the caller: its message and details are written for
 * API users. Anything that is not an AppError is masked as INTERNAL_SERVER_ERROR.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
    this.retryable = code === ErrorCode.SERVICE_UNAVAILABLE || code === ErrorCode.CONFLICT || code === ErrorCode.RATE_LIMITED;
  }

  get httpStatus(): number | undefined {
    return httpStatusOf[this.code];
  }
}

export const notFound = (what: string, key: string): AppError =>
  new AppError(ErrorCode.NOT_FOUND, `${what} ${JSON.stringify(key)} was not found`, { what, key });

export const alreadyExists = (what: string, field: string, value: string): AppError =>
  new AppError(ErrorCode.ALREADY_EXISTS, `${what} with ${field} ${JSON.stringify(value)} already exists`, {
    what,
    field,
    value,
  });

export const forbidden = (message = 'this key may not access that resource'): AppError =>
  new AppError(ErrorCode.FORBIDDEN, message);

export const unauthenticated = (message: string): AppError => new AppError(ErrorCode.UNAUTHENTICATED, message);

export const serviceUnavailable = (what: string): AppError =>
  new AppError(ErrorCode.SERVICE_UNAVAILABLE, `${what} is unavailable; retry shortly`, { what });

export class ValidationError extends AppError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    const summary = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    super(ErrorCode.VALIDATION_FAILED, `invalid input: ${summary}`, { fields: problems });
    this.problems = problems;
  }
}
