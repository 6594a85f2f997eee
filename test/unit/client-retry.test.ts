import { describe, expect, it } from 'vitest';
import { backoffDelay, BillingError, RETRYABLE_CODES } from '../../client/index.js';
import { AppError, ErrorCode } from '../../src/shared/errors.js';

const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1_000 };

describe('client retries', () => {
  it('retries exactly the codes the server marks retryable', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(RETRYABLE_CODES.has(code), code).toBe(new AppError(code, 'x').retryable);
      expect(new BillingError(code, 'x').retryable, code).toBe(new AppError(code, 'x').retryable);
    }
  });

  it('doubles the delay per retry, keeps it in the upper half of its step, and caps it', () => {
    const lowest = [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, undefined, () => 0));
    const highest = [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, undefined, () => 1));
    expect(lowest).toEqual([50, 100, 200, 400, 500, 500]);
    expect(highest).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("waits for the server's Retry-After, but never longer than the cap", () => {
    expect(backoffDelay(1, policy, 700, () => 0)).toBe(700);
    expect(backoffDelay(1, policy, 60_000, () => 0)).toBe(1_000);
  });
});
