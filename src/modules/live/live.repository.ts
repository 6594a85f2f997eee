import type { SqlPool } from '../../db/sql.js';
import { evaluateAlerts, type AlertRecord } from '../alerts/index.js';

/** A wallet's ledger figures as live messages carry them: balance in ledger units, version as the sequence. */
export interface WalletRow {
  id: string;
  currency: string;
  balance: string;
  version: string;
}

/** What a usage commit left in the outbox for live subscribers. */
export interface OutboxRow {
  id: string;
  customer_id: string;
  payload: { wallets?: Record<string, { currency: string; balance: string; change: string; sequence: string; from: string }>; alerts?: AlertRecord[] };
  created_at: Date;
}

/** What live updates read from PostgreSQL: wallet figures, and the outbox usage commits fill. */
export class LiveRepository {
  constructor(private readonly sql: SqlPool) {}

  /** A customer's wallets (or the given ones of them), in id order. */
  wallets(customerId: string, walletIds: string[] | null): Promise<WalletRow[]> {
    return this.sql.query<WalletRow>(
      walletIds ? 'select id, currency, balance, version from wallet where customer_id = $1 and id = any($2::uuid[]) order by id' : 'select id, currency, balance, version from wallet where customer_id = $1 order by id',
      walletIds ? [customerId, walletIds] : [customerId],
    );
  }

  async wallet(walletId: string): Promise<WalletRow | undefined> {
    return (await this.sql.query<WalletRow>('select id, currency, balance, version from wallet where id = $1', [walletId]))[0];
  }

  /** Runs the alert checks of customers in a transaction of their own (holds do not move the ledger). */
  evaluateAlerts(customerIds: string[], at: Date): Promise<AlertRecord[]> {
    return this.sql.transaction((client) => evaluateAlerts(client, customerIds, at));
  }

  /**
   * Hands `publish` the unpublished outbox rows older than `before` (at most 500, skipping those
   * another instance is relaying), then marks them published, all in one transaction: a row is
   * marked only once its messages went out.
   */
  relay(before: Date, now: Date, publish: (rows: OutboxRow[]) => Promise<void>): Promise<number> {
    return this.sql.transaction(async (client) => {
      const { rows } = await client.query<OutboxRow>(
        `select id, customer_id, payload, created_at from outbox
          where published_at is null and created_at < $1
          order by id limit 500 for update skip locked`,
        [before],
      );
      await publish(rows);
      if (rows.length > 0) await client.query('update outbox set published_at = $2 where id = any($1::bigint[])', [rows.map((r) => r.id), now]);
      return rows.length;
    });
  }

  /** Marks outbox rows published (those not marked yet). */
  async markPublished(ids: string[], now: Date): Promise<void> {
    await this.sql.query('update outbox set published_at = $2 where id = any($1::bigint[]) and published_at is null', [ids, now]);
  }
}
