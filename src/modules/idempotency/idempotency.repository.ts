import type { SqlClient } from '../../db/sql.js';
import { AppError, ErrorCode } from '../../shared/errors.js';

export type ClaimResult<R> = { kind: 'claimed' } | { kind: 'replay'; response: R };

/**
 * Idempotency records for money-moving admin mutations, used inside the caller's transaction.
 * The primary key (operation, key) makes a concurrent duplicate wait for the first request's
 * transaction, then see its stored response; a rolled-back first request leaves no record.
 */
export class IdempotencyRepository {
  /** Claims the key, or returns the response of the earlier request that used it. */
  async claim<R>(client: SqlClient, operation: string, key: string, hash: string, now: Date): Promise<ClaimResult<R>> {
    const inserted = await client.query(
      `insert into idempotency_record (operation, key, request_hash, response, created_at)
       values ($1, $2, $3, '{}'::jsonb, $4) on conflict do nothing returning 1`,
      [operation, key, hash, now],
    );
    if (inserted.rowCount === 1) return { kind: 'claimed' };
    const existing = await client.query<{ request_hash: string; response: R }>(
      'select request_hash, response from idempotency_record where operation = $1 and key = $2',
      [operation, key],
    );
    const row = existing.rows[0]!;
    if (row.request_hash !== hash) {
      throw new AppError(
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        `idempotency key ${JSON.stringify(key)} was already used for a different ${operation} request`,
        { operation, key },
      );
    }
    return { kind: 'replay', response: row.response };
  }

  /** Stores the response a retry of the claimed request will get. */
  async complete(client: SqlClient, operation: string, key: string, response: unknown): Promise<void> {
    await client.query('update idempotency_record set response = $3 where operation = $1 and key = $2', [operation, key, JSON.stringify(response)]);
  }
}
