import { describe, expect, it } from 'vitest';
import { asUnavailable, isConnectionError } from '../../src/db/sql.js';
import { AppError } from '../../src/shared/errors.js';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('database errors a caller may retry', () => {
  it('treat a server out of connection slots as unavailable, not as an internal error', () => {
    const full = pgError('53300', 'sorry, too many clients already');
    expect(isConnectionError(full)).toBe(true);
    const mapped = asUnavailable(full);
    expect(mapped).toBeInstanceOf(AppError);
    expect((mapped as AppError).code).toBe('SERVICE_UNAVAILABLE');
    expect((mapped as AppError).retryable).toBe(true);
  });

  it('leave errors of the statement itself alone', () => {
    const unique = pgError('23505', 'duplicate key value violates unique constraint');
    expect(isConnectionError(unique)).toBe(false);
    expect(asUnavailable(unique)).toBe(unique);
  });
});
