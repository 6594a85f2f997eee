import type { SqlClient, SqlPool } from '../../db/sql.js';
import type { RechargeRecord } from './recharge.record.js';

const COLUMNS = `id, wallet_id, customer_id, definition_id, status, amount::text, currency, trim_scale(available)::text as available,
  trim_scale(threshold)::text as threshold, on_failure, provider, payment_reference, ledger_entry_id::text, failure_code, failure_message,
  created_at, updated_at, settled_at`;

/**
 * The only code that reads and writes wallet_recharge (alert_evaluate inserts its rows, in the
 * transaction of the crossing). Every change runs under the row's lock, in the transaction that
 * also tops the wallet up or announces the failure.
 */
export class RechargeRepository {
  constructor(private readonly sql: SqlPool) {}

  /** Recharges waiting for their charge (IN_FLIGHT and not yet at the provider), oldest first. */
  async due(limit: number): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(`select id from wallet_recharge where status = 'IN_FLIGHT' and payment_reference is null order by seq limit $1`, [limit]);
    return rows.map((r) => r.id);
  }

  /** A recharge waiting for its charge, locked; null when it is not (any more), or another instance holds it. */
  async lockDue(client: SqlClient, id: string): Promise<RechargeRecord | null> {
    const { rows } = await client.query(`select ${COLUMNS} from wallet_recharge where id = $1 and status = 'IN_FLIGHT' and payment_reference is null for update skip locked`, [id]);
    return rows[0] ? toRecharge(rows[0]) : null;
  }

  /** A recharge pending at the provider, by the provider's reference, locked. */
  async lockPending(client: SqlClient, provider: string, reference: string): Promise<RechargeRecord | null> {
    const { rows } = await client.query(`select ${COLUMNS} from wallet_recharge where provider = $1 and payment_reference = $2 and status = 'IN_FLIGHT' for update`, [provider, reference]);
    return rows[0] ? toRecharge(rows[0]) : null;
  }

  /**
   * Recharges charged and left pending at one of these providers that nobody looked at since
   * `before` (updated_at: when the charge went pending, then when it was last checked), least
   * recently checked first.
   */
  async pendingUnchecked(providers: string[], before: Date, limit: number): Promise<Array<{ provider: string; reference: string }>> {
    const rows = await this.sql.query<{ provider: string; payment_reference: string }>(
      `select provider, payment_reference from wallet_recharge
        where status = 'IN_FLIGHT' and payment_reference is not null and provider = any($1::text[]) and updated_at <= $2
        order by updated_at, seq limit $3`,
      [providers, before, limit],
    );
    return rows.map((r) => ({ provider: r.provider, reference: r.payment_reference }));
  }

  /** Notes that the provider said a pending charge still is: the next check is a window from `now`. */
  async checkedPending(provider: string, reference: string, now: Date): Promise<void> {
    await this.sql.query(`update wallet_recharge set updated_at = $3 where provider = $1 and payment_reference = $2 and status = 'IN_FLIGHT' and updated_at < $3`, [provider, reference, now]);
  }

  async byReference(client: SqlClient, provider: string, reference: string): Promise<RechargeRecord | null> {
    const { rows } = await client.query(`select ${COLUMNS} from wallet_recharge where provider = $1 and payment_reference = $2`, [provider, reference]);
    return rows[0] ? toRecharge(rows[0]) : null;
  }

  /** The amount as charged: rounded up to whole minor units before the first call to the provider. */
  async setAmount(client: SqlClient, id: string, amount: bigint, now: Date): Promise<void> {
    await client.query('update wallet_recharge set amount = $2, updated_at = $3 where id = $1', [id, amount, now]);
  }

  /** Charged, but the provider settles later (its webhook): no other charge is made meanwhile. */
  async pending(client: SqlClient, id: string, provider: string, reference: string, now: Date): Promise<void> {
    await client.query('update wallet_recharge set provider = $2, payment_reference = $3, updated_at = $4 where id = $1', [id, provider, reference, now]);
  }

  async succeed(client: SqlClient, id: string, r: { provider: string; reference: string; entryId: string; now: Date }): Promise<void> {
    await client.query(
      `update wallet_recharge set status = 'SUCCEEDED', provider = $2, payment_reference = $3, ledger_entry_id = $4, settled_at = $5, updated_at = $5 where id = $1`,
      [id, r.provider, r.reference, r.entryId, r.now],
    );
  }

  async fail(client: SqlClient, id: string, r: { provider: string | null; reference: string | null; code: string; message: string; now: Date }): Promise<void> {
    await client.query(
      `update wallet_recharge set status = 'FAILED', provider = $2, payment_reference = $3, failure_code = $4, failure_message = $5, settled_at = $6, updated_at = $6 where id = $1`,
      [id, r.provider, r.reference, r.code.slice(0, 100), r.message.slice(0, 500), r.now],
    );
  }

  /** The wallet as wallet events carry it: its balance now, in ledger units. */
  async wallet(client: SqlClient, walletId: string): Promise<{ id: string; customerId: string; currency: string; balance: string }> {
    const { rows } = await client.query('select id, customer_id, currency, balance::text from wallet where id = $1', [walletId]);
    const r = rows[0]!;
    return { id: r.id, customerId: r.customer_id, currency: r.currency, balance: r.balance };
  }

  /**
   * Failed recharges that keep the customer suspended: of wallets whose policy suspends, with no
   * later recharge of the same wallet that succeeded, and whose wallet's available balance
   * (balance less open holds, as the auto-recharge watches it) is still below the threshold the
   * recharge crossed. `walletId`: of that wallet only.
   */
  async suspending(client: SqlClient, customerId: string, walletId: string | null = null): Promise<number> {
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from wallet_recharge f join wallet w on w.id = f.wallet_id
        where f.customer_id = $1 and ($2::uuid is null or f.wallet_id = $2) and f.status = 'FAILED' and f.on_failure = 'SUSPEND'
          and not exists (select 1 from wallet_recharge s where s.wallet_id = f.wallet_id and s.status = 'SUCCEEDED' and s.seq > f.seq)
          and w.balance - coalesce((select sum(r.amount) from reservation r where r.customer_id = f.customer_id and r.wallet_id = f.wallet_id and r.status = 'OPEN'), 0)
              < f.threshold * 1000000000`,
      [customerId, walletId],
    );
    return rows[0]!.n;
  }

  /**
   * The customer of a wallet with a failed recharge whose policy suspends and that no later
   * recharge of the wallet superseded, whatever its balance: one that may be what keeps the
   * customer suspended. Null for any other wallet (most), which a top-up then leaves alone.
   */
  async suspendedBy(client: SqlClient, walletId: string): Promise<string | null> {
    const { rows } = await client.query<{ customer_id: string }>(
      `select f.customer_id from wallet_recharge f
        where f.wallet_id = $1 and f.status = 'FAILED' and f.on_failure = 'SUSPEND'
          and not exists (select 1 from wallet_recharge s where s.wallet_id = f.wallet_id and s.status = 'SUCCEEDED' and s.seq > f.seq)
        limit 1`,
      [walletId],
    );
    return rows[0]?.customer_id ?? null;
  }
}

function toRecharge(r: Record<string, any>): RechargeRecord {
  return {
    id: r.id,
    walletId: r.wallet_id,
    customerId: r.customer_id,
    definitionId: r.definition_id,
    status: r.status,
    amount: BigInt(r.amount),
    currency: r.currency,
    available: r.available,
    threshold: r.threshold,
    onFailure: r.on_failure,
    provider: r.provider,
    paymentReference: r.payment_reference,
    ledgerEntryId: r.ledger_entry_id,
    failureCode: r.failure_code,
    failureMessage: r.failure_message,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    settledAt: r.settled_at,
  };
}
