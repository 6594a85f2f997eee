import { isUniqueViolation, type SqlPool } from '../../db/sql.js';
import { AccountRepository } from './account.repository.js';
import type { HoldRecord } from './reservation.store.js';
import { ReservationStatus, type Reservation } from './reservation.record.js';

interface Row {
  id: string;
  customer_id: string;
  idempotency_key: string;
  request_hash: string;
  meter_code: string;
  dimensions: Record<string, string>;
  values: Record<string, string>;
  estimated_quantity: string | null;
  currency: string;
  wallet_id: string | null;
  amount: string;
  hold: HoldRecord;
  period_start: Date | null;
  status: Reservation['status'];
  expires_at: Date;
  settled_event_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const toReservation = (r: Row): Reservation => ({
  id: r.id,
  customerId: r.customer_id,
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
  meterCode: r.meter_code,
  dimensions: r.dimensions,
  values: r.values,
  estimatedQuantity: r.estimated_quantity,
  currency: r.currency,
  walletId: r.wallet_id,
  amount: BigInt(r.amount),
  hold: r.hold,
  periodStart: r.period_start,
  status: r.status,
  expiresAt: r.expires_at,
  settledEventId: r.settled_event_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class ReservationRepository {
  constructor(private readonly sql: SqlPool) {}

  async findById(id: string): Promise<Reservation | null> {
    const rows = await this.sql.query<Row>('select * from reservation where id = $1', [id]);
    return rows[0] ? toReservation(rows[0]) : null;
  }

  async findByKey(customerId: string, key: string): Promise<Reservation | null> {
    const rows = await this.sql.query<Row>('select * from reservation where customer_id = $1 and idempotency_key = $2', [customerId, key]);
    return rows[0] ? toReservation(rows[0]) : null;
  }

  /**
   * Stores a new reservation; returns the version it committed at, or null when the key was
   * taken. One statement (one round trip): the customer's version is raised first (lock order
   * everywhere: customer_account, then the rows it covers), then the row is inserted.
   */
  async insert(r: Reservation): Promise<bigint | null> {
    try {
      const rows = await this.sql.query<{ version: string }>(
        `with bumped as (
           insert into customer_account as a (customer_id, version) values ($2, 1)
           on conflict (customer_id) do update set version = a.version + 1
           returning version)
         insert into reservation (id, customer_id, idempotency_key, request_hash, meter_code, currency, wallet_id, amount, hold, period_start,
           status, expires_at, created_at, updated_at, dimensions, "values", estimated_quantity)
         select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16 from bumped
         returning (select version from bumped)::text as version`,
        [
          r.id, r.customerId, r.idempotencyKey, r.requestHash, r.meterCode, r.currency, r.walletId, r.amount.toString(), JSON.stringify(r.hold),
          r.periodStart, r.status, r.expiresAt, r.createdAt, JSON.stringify(r.dimensions), JSON.stringify(r.values), r.estimatedQuantity,
        ],
      );
      return BigInt(rows[0]!.version);
    } catch (err) {
      if (isUniqueViolation(err, 'reservation_idempotency_key')) return null;
      throw err;
    }
  }

  /** Closes an open reservation (RELEASED or EXPIRED); returns it as it is afterwards. */
  async close(id: string, status: typeof ReservationStatus.RELEASED | typeof ReservationStatus.EXPIRED, now: Date): Promise<Reservation | null> {
    return this.sql.transaction(async (client) => {
      const owner = await client.query<{ customer_id: string }>('select customer_id from reservation where id = $1', [id]);
      if (!owner.rows[0]) return null;
      // Lock order everywhere: customer_account first, then the rows it covers.
      await AccountRepository.bump(client, [owner.rows[0].customer_id]);
      const updated = await client.query<Row>(`update reservation set status = $2, updated_at = $3 where id = $1 and status = 'OPEN' returning *`, [id, status, now]);
      if (updated.rows[0]) return toReservation(updated.rows[0]);
      const current = await client.query<Row>('select * from reservation where id = $1', [id]);
      return toReservation(current.rows[0]!);
    });
  }

  /** Open reservations past their expiry, oldest first. */
  async expired(now: Date, limit: number): Promise<Reservation[]> {
    const rows = await this.sql.query<Row>(`select * from reservation where status = 'OPEN' and expires_at <= $1 order by expires_at limit $2`, [now, limit]);
    return rows.map(toReservation);
  }
}
