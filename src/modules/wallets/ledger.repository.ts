import { isCheckViolation, isNumericOverflow, outOfRange, type SqlClient } from '../../db/sql.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import { AccountRepository } from '../reservations/index.js';
import type { LedgerEntryKind } from './wallet.entity.js';

export interface NewLedgerEntry {
  walletId: string;
  creditBlockId: string;
  kind: LedgerEntryKind;
  /** Ledger units: positive credits, negative debits. */
  amount: bigint;
  usageBatchId?: string | null;
  reference?: string | null;
  description?: string | null;
  createdAt: Date;
}

export interface AppendedEntry extends NewLedgerEntry {
  id: string;
}

/** A wallet's totals right after an append, inside the same transaction. */
export interface WalletTotals {
  walletId: string;
  currency: string;
  balance: bigint;
  /** Number of ledger entries the wallet has; each append raises it by the entries it added. */
  version: bigint;
}

export interface AppendResult {
  entries: AppendedEntry[];
  wallets: Map<string, WalletTotals & { customerId: string }>;
  /** The customers' account versions after this transaction (see AccountRepository.bump). */
  customerVersions: Map<string, bigint>;
}

/**
 * The one code path that writes ledger entries. One multi-row insert per call; the database
 * trigger then moves each touched wallet's balance and version once, and refuses a debit that
 * would take a HARD or OVERDRAFT wallet below its floor or a grant below zero.
 */
export class LedgerRepository {
  /**
   * Appends entries. Unless the caller already raised the customers' versions in this
   * transaction (and passes them), this raises them first, keeping the lock order
   * customer_account, then wallet.
   */
  async append(client: SqlClient, entries: NewLedgerEntry[], versions?: Map<string, bigint>): Promise<AppendResult> {
    if (entries.length === 0) return { entries: [], wallets: new Map(), customerVersions: versions ?? new Map() };
    const walletIds = [...new Set(entries.map((e) => e.walletId))];
    let customerVersions = versions;
    if (!customerVersions) {
      const owners = await client.query<{ customer_id: string }>('select distinct customer_id from wallet where id = any($1::uuid[])', [walletIds]);
      customerVersions = await AccountRepository.bump(client, owners.rows.map((r) => r.customer_id));
    }
    let ids: string[];
    try {
      const inserted = await client.query<{ id: string }>(
        `insert into ledger_entry (wallet_id, credit_block_id, kind, amount, usage_batch_id, reference, description, created_at)
         select * from unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::bigint[], $5::uuid[], $6::varchar[], $7::varchar[], $8::timestamptz[])
         returning id`,
        [
          entries.map((e) => e.walletId),
          entries.map((e) => e.creditBlockId),
          entries.map((e) => e.kind),
          entries.map((e) => e.amount.toString()),
          entries.map((e) => e.usageBatchId ?? null),
          entries.map((e) => e.reference ?? null),
          entries.map((e) => e.description ?? null),
          entries.map((e) => e.createdAt),
        ],
      );
      ids = inserted.rows.map((r) => r.id);
    } catch (err) {
      if (isCheckViolation(err, 'wallet_floor') || isCheckViolation(err, 'credit_block_grant_not_negative')) {
        throw new AppError(ErrorCode.WALLET_INSUFFICIENT_FUNDS, 'the wallet does not hold enough funds for this debit');
      }
      if (isNumericOverflow(err)) throw outOfRange('the resulting balance');
      throw err;
    }
    const totals = await client.query<{ id: string; customer_id: string; currency: string; balance: string; version: string }>(
      'select id, customer_id, currency, balance, version from wallet where id = any($1::uuid[])',
      [walletIds],
    );
    return {
      entries: entries.map((e, i) => ({ ...e, id: ids[i]! })),
      wallets: new Map(totals.rows.map((r) => [r.id, { walletId: r.id, customerId: r.customer_id, currency: r.currency, balance: BigInt(r.balance), version: BigInt(r.version) }])),
      customerVersions,
    };
  }
}
