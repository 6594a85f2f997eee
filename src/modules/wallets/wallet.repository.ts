import type { EntityManager, Orm } from '../../db/orm.js';
import type { SqlClient } from '../../db/sql.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import { CreditBlock, CreditBlockKind, LedgerEntry, Wallet } from './wallet.entity.js';

export class WalletRepository {
  private readonly em: EntityManager;

  /** One unit of work: what this instance reads, its flush() writes back. */
  constructor(orm: Orm) {
    this.em = orm.em.fork();
  }

  findById(id: string): Promise<Wallet | null> {
    return this.em.findOne(Wallet, { id });
  }

  findByCustomer(customerId: string): Promise<Wallet[]> {
    return this.em.find(Wallet, { customerId }, { orderBy: { currency: 'asc' } });
  }

  /** A page of a customer's wallets by currency: keyset on the currency, unique per customer. */
  async pageByCustomer(customerId: string, req: PageRequest): Promise<Page<Wallet>> {
    const rows = await this.em.find(Wallet, req.after === undefined ? { customerId } : { customerId, currency: { $gt: req.after } }, { orderBy: { currency: 'asc' }, limit: req.first + 1 });
    return { items: rows.slice(0, req.first), hasNextPage: rows.length > req.first };
  }

  blockById(id: string): Promise<CreditBlock | null> {
    return this.em.findOne(CreditBlock, { id });
  }

  findByCustomerAndCurrency(customerId: string, currency: string): Promise<Wallet | null> {
    return this.em.findOne(Wallet, { customerId, currency });
  }

  /** Blocks in consumption order: grants by priority, soonest expiry, age; MAIN last. */
  blocks(walletId: string, includeEmpty: boolean): Promise<CreditBlock[]> {
    return this.em.find(
      CreditBlock,
      includeEmpty ? { walletId } : { walletId, $or: [{ kind: CreditBlockKind.MAIN }, { remaining: { $ne: 0n } }] },
      { orderBy: [{ kind: 'asc' }, { priority: 'asc' }, { expiresAt: 'asc nulls last' }, { id: 'asc' }] },
    );
  }

  async entriesPage(walletId: string, req: PageRequest): Promise<Page<LedgerEntry>> {
    const rows = await this.em.find(LedgerEntry, req.after ? { walletId, id: { $lt: req.after } } : { walletId }, {
      orderBy: { id: 'desc' },
      limit: req.first + 1,
    });
    return { items: rows.slice(0, req.first), hasNextPage: rows.length > req.first };
  }

  entryById(id: string): Promise<LedgerEntry | null> {
    return this.em.findOne(LedgerEntry, { id });
  }

  /** Inserts a wallet with its empty MAIN block in one transaction. */
  async insert(wallet: Wallet, main: CreditBlock): Promise<void> {
    await this.em.transactional(async (em) => {
      em.persist(wallet);
      await em.flush();
      em.persist(main);
    });
  }

  async flush(): Promise<void> {
    await this.em.flush();
  }
}

/** The MAIN block of a wallet, read inside a ledger transaction; undefined when the wallet does not exist. */
export async function mainBlockId(client: SqlClient, walletId: string): Promise<string | undefined> {
  const rows = await client.query<{ id: string }>(`select id from credit_block where wallet_id = $1 and kind = 'MAIN'`, [walletId]);
  return rows.rows[0]?.id;
}

export async function insertGrantBlock(client: SqlClient, block: CreditBlock): Promise<void> {
  await client.query(
    `insert into credit_block (id, wallet_id, kind, priority, expires_at, granted, remaining, reason, created_at)
     values ($1, $2, 'GRANT', $3, $4, $5, 0, $6, $7)`,
    [block.id, block.walletId, block.priority, block.expiresAt, block.granted.toString(), block.reason, block.createdAt],
  );
}
