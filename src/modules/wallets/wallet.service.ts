import { autoRechargeOf, evaluateAlerts, type AlertDefinition, type AlertRecord } from '../alerts/index.js';
import type { Orm } from '../../db/orm.js';
import { isUniqueViolation, type SqlClient, type SqlPool } from '../../db/sql.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { alreadyExists, notFound, ValidationError } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits, toLedgerUnits } from '../../shared/money/units.js';
import { Checker, checkAmount } from '../../shared/validation.js';
import type { CurrencyService } from '../currencies/index.js';
import type { CustomerService } from '../customers/index.js';
import { IdempotencyRepository, requestHash } from '../idempotency/index.js';
import { emitWebhook, webhookEventId, WebhookTopic, type WebhookEmission } from '../webhooks/index.js';
import { LedgerRepository, type AppendResult, type NewLedgerEntry } from './ledger.repository.js';
import { CreditBlock, CreditBlockKind, LedgerEntryKind, LimitMode, type LedgerEntry, Wallet } from './wallet.entity.js';
import { insertGrantBlock, mainBlockId, WalletRepository } from './wallet.repository.js';

export interface CreateWalletCommand {
  customerId: string;
  currency?: string | null;
  limitMode?: LimitMode | null;
  overdraftLimit?: Decimal | null;
}

export interface UpdateWalletCommand {
  id: string;
  limitMode?: LimitMode | null;
  overdraftLimit?: Decimal | null;
}

export interface TopUpCommand {
  walletId: string;
  amount: Decimal;
  idempotencyKey: string;
  reference?: string | null;
  description?: string | null;
}

export interface GrantCommand {
  walletId: string;
  amount: Decimal;
  idempotencyKey: string;
  /** Lower is consumed first; default 0. */
  priority?: number | null;
  expiresAt?: Date | null;
  reason?: string | null;
}

/** What a money movement returns, and what a retry with the same idempotency key returns again. */
export interface LedgerMoveResult {
  walletId: string;
  entryId: string;
  creditBlockId: string;
  /** Balance right after this movement, in ledger units (as a string, as stored). */
  balanceAfter: string;
  version: string;
  /** The answer of an earlier request with the same idempotency key, returned again (never stored). */
  replayed: boolean;
}

/** Told after every committed ledger append, with the wallets' new totals and the alerts the transaction recorded. */
export type LedgerListener = (result: AppendResult, alerts: AlertRecord[]) => void;

/**
 * Runs in the transaction of a top-up or a grant (not of a replay), after its entry: what else
 * that money changes commits with it. What it returns, if anything, runs once that transaction
 * has committed (pushes, pokes).
 */
export type CreditedHook = (client: SqlClient, credit: { walletId: string; entryId: string; at: Date }) => Promise<(() => void) | null>;

const MAX_PRIORITY = 1000;

export class WalletService {
  private readonly ledger = new LedgerRepository();
  private readonly idempotency = new IdempotencyRepository();
  private readonly listeners: LedgerListener[] = [];
  private readonly walletListeners: Array<(wallet: Wallet) => Promise<void>> = [];
  private readonly createdListeners: Array<(wallet: Wallet) => Promise<void>> = [];
  private readonly creditedHooks: CreditedHook[] = [];

  constructor(
    private readonly orm: Orm,
    private readonly sql: SqlPool,
    private readonly customers: CustomerService,
    private readonly currencies: CurrencyService,
    private readonly clock: Clock,
  ) {}

  /** Registers a listener for committed ledger appends (reservation store sync, live updates). */
  onCommitted(listener: LedgerListener): void {
    this.listeners.push(listener);
  }

  /** Registers a listener for new wallets (after the listeners of onWalletChanged). */
  onWalletCreated(listener: (wallet: Wallet) => Promise<void>): void {
    this.createdListeners.push(listener);
  }

  /**
   * Registers a hook run in the transaction of every top-up (topUpWallet) and grant
   * (grantCredits) that added money: a customer a failed auto-recharge suspended is reinstated
   * by it (the recharges module's rule).
   */
  onCredited(hook: CreditedHook): void {
    this.creditedHooks.push(hook);
  }

  /** Registers a listener for wallets created or reconfigured (limit mode, overdraft). */
  onWalletChanged(listener: (wallet: Wallet) => Promise<void>): void {
    this.walletListeners.push(listener);
  }

  /**
   * Runs fn in a transaction, records the alert crossings its appends caused in the same
   * transaction, and tells the listeners after commit.
   */
  async inLedgerTransaction<T>(fn: (client: SqlClient, appended: AppendResult[]) => Promise<T>): Promise<T> {
    let appended: AppendResult[] = [];
    let alerts: AlertRecord[] = [];
    const result = await this.sql.transaction(async (client) => {
      appended = []; // a retried transaction starts over
      const value = await fn(client, appended);
      const customers = new Set(appended.flatMap((a) => [...a.wallets.values()].map((w) => w.customerId)));
      alerts = await evaluateAlerts(client, [...customers], this.clock.now());
      return value;
    });
    for (const a of appended) {
      const customers = new Set([...a.wallets.values()].map((w) => w.customerId));
      for (const listener of this.listeners) listener(a, alerts.filter((x) => customers.has(x.customerId)));
    }
    return result;
  }

  /** Appends entries within a transaction opened by inLedgerTransaction. */
  async append(client: SqlClient, appended: AppendResult[], entries: NewLedgerEntry[]): Promise<AppendResult> {
    const result = await this.ledger.append(client, entries);
    appended.push(result);
    return result;
  }

  async create(cmd: CreateWalletCommand): Promise<Wallet> {
    const check = new Checker();
    if (!isUuid(cmd.customerId)) check.fail('customerId', 'must be a customer id');
    const limitMode = cmd.limitMode ?? LimitMode.HARD;
    const overdraft = this.checkOverdraft(check, limitMode, cmd.overdraftLimit);
    const currencyText = check.text('currency', cmd.currency, { max: 32 });
    await this.currencies.checkKnown(check, 'currency', currencyText);
    check.done();
    const customer = await this.customers.get({ id: cmd.customerId });
    const currency = currencyText ?? customer.currency;

    const now = this.clock.now();
    const wallet = Object.assign(new Wallet(), {
      id: newId(now.getTime()),
      customerId: customer.id,
      currency,
      limitMode,
      overdraftLimit: overdraft,
      balance: 0n,
      version: 0n,
      createdAt: now,
      updatedAt: now,
    });
    const main = Object.assign(new CreditBlock(), {
      id: newId(now.getTime()),
      walletId: wallet.id,
      kind: CreditBlockKind.MAIN,
      priority: 0,
      expiresAt: null,
      granted: 0n,
      remaining: 0n,
      reason: null,
      createdAt: now,
    });
    try {
      await new WalletRepository(this.orm).insert(wallet, main);
    } catch (err) {
      if (isUniqueViolation(err, 'wallet_customer_currency_key')) throw alreadyExists('wallet', 'currency', currency);
      throw err;
    }
    for (const listener of this.walletListeners) await listener(wallet);
    for (const listener of this.createdListeners) await listener(wallet);
    return wallet;
  }

  async update(cmd: UpdateWalletCommand): Promise<Wallet> {
    const repo = new WalletRepository(this.orm);
    const wallet = await this.require(repo, cmd.id);
    const check = new Checker();
    const limitMode = cmd.limitMode ?? wallet.limitMode;
    const overdraft =
      cmd.overdraftLimit === undefined || cmd.overdraftLimit === null
        ? limitMode === LimitMode.OVERDRAFT
          ? wallet.overdraftLimit
          : 0n
        : this.checkOverdraft(check, limitMode, cmd.overdraftLimit);
    check.done();
    wallet.limitMode = limitMode;
    wallet.overdraftLimit = overdraft;
    wallet.updatedAt = this.clock.now();
    await repo.flush();
    for (const listener of this.walletListeners) await listener(wallet);
    return wallet;
  }

  /** Adds paid money to the wallet's MAIN block. Idempotent on the key. */
  async topUp(cmd: TopUpCommand): Promise<LedgerMoveResult> {
    if (!isUuid(cmd.walletId)) throw notFound('wallet', cmd.walletId);
    const { key, hash, move } = this.checkTopUp(cmd);
    return this.credit((client, appended) => this.moveMoneyIn(client, appended, 'topUpWallet', key, hash, cmd.walletId, move));
  }

  /**
   * A top-up inside the caller's ledger transaction (inLedgerTransaction), so that it commits
   * with what the caller records beside it: an auto-recharge marks itself paid with the entry.
   * The same idempotency as topUpWallet, on the same keys.
   */
  topUpIn(client: SqlClient, appended: AppendResult[], cmd: TopUpCommand): Promise<LedgerMoveResult> {
    if (!isUuid(cmd.walletId)) throw notFound('wallet', cmd.walletId);
    const { key, hash, move } = this.checkTopUp(cmd);
    return this.moveMoneyIn(client, appended, 'topUpWallet', key, hash, cmd.walletId, move);
  }

  private checkTopUp(cmd: TopUpCommand) {
    const check = new Checker();
    const key = check.idempotencyKey('idempotencyKey', cmd.idempotencyKey);
    const amount = checkAmount(check, 'amount', cmd.amount);
    const reference = check.text('reference', cmd.reference, { max: 255 }) ?? null;
    const description = check.text('description', cmd.description, { max: 500 }) ?? null;
    check.done();
    const hash = requestHash({ walletId: cmd.walletId, amount, reference, description });
    const move = async (client: SqlClient, appended: AppendResult[], now: Date) => {
      const blockId = (await mainBlockId(client, cmd.walletId))!;
      const entry = { walletId: cmd.walletId, creditBlockId: blockId, kind: LedgerEntryKind.TOP_UP, amount: toLedgerUnits(amount!), reference, description, createdAt: now };
      const result = await this.append(client, appended, [entry]);
      await emitWebhook(client, toppedUp(result, cmd.walletId));
      return result;
    };
    return { key: key!, hash, move };
  }

  /** Grants credits in a block of their own, with a priority and an optional expiry. Idempotent on the key. */
  async grant(cmd: GrantCommand): Promise<LedgerMoveResult> {
    const check = new Checker();
    const key = check.idempotencyKey('idempotencyKey', cmd.idempotencyKey);
    const amount = checkAmount(check, 'amount', cmd.amount);
    const priority = check.integer('priority', cmd.priority, { min: 0, max: MAX_PRIORITY }) ?? 0;
    const reason = check.text('reason', cmd.reason, { max: 500 }) ?? null;
    if (cmd.expiresAt && cmd.expiresAt.getTime() <= this.clock.now().getTime()) check.fail('expiresAt', 'must be in the future');
    check.done();
    const hash = requestHash({ walletId: cmd.walletId, amount, priority, expiresAt: cmd.expiresAt ?? null, reason });
    if (!isUuid(cmd.walletId)) throw notFound('wallet', cmd.walletId);
    return this.credit((client, appended) => this.moveMoneyIn(client, appended, 'grantCredits', key!, hash, cmd.walletId, async (client, appended, now) => {
      const block = Object.assign(new CreditBlock(), {
        id: newId(now.getTime()),
        walletId: cmd.walletId,
        kind: CreditBlockKind.GRANT,
        priority,
        expiresAt: cmd.expiresAt ?? null,
        granted: toLedgerUnits(amount!),
        remaining: 0n,
        reason,
        createdAt: now,
      });
      await insertGrantBlock(client, block);
      const entry = { walletId: cmd.walletId, creditBlockId: block.id, kind: LedgerEntryKind.GRANT, amount: block.granted, description: reason, createdAt: now };
      return this.append(client, appended, [entry]);
    }));
  }

  async get(id: string): Promise<Wallet> {
    return this.require(new WalletRepository(this.orm), id);
  }

  async find(id: string): Promise<Wallet | null> {
    return isUuid(id) ? new WalletRepository(this.orm).findById(id) : null;
  }

  /** The wallet's auto-recharge (an alert definition the alerts module keeps); null when it has none. */
  autoRecharge(walletId: string): Promise<AlertDefinition | null> {
    return isUuid(walletId) ? autoRechargeOf(this.sql, walletId) : Promise.resolve(null);
  }

  listForCustomer(customerId: string): Promise<Wallet[]> {
    return new WalletRepository(this.orm).findByCustomer(customerId);
  }

  /** A page of a customer's wallets, by currency. */
  pageForCustomer(customerId: string, req: PageRequest): Promise<Page<Wallet>> {
    if (!isUuid(customerId)) throw new ValidationError([{ path: 'customerId', message: 'must be a customer id' }]);
    return new WalletRepository(this.orm).pageByCustomer(customerId, req);
  }

  /** A credit block with the customer of its wallet; null for an unknown or malformed id. */
  async block(id: string): Promise<{ block: CreditBlock; customerId: string } | null> {
    if (!isUuid(id)) return null;
    const repo = new WalletRepository(this.orm);
    const block = await repo.blockById(id);
    const wallet = block && (await repo.findById(block.walletId));
    return block && wallet && { block, customerId: wallet.customerId };
  }

  findForCustomer(customerId: string, currency: string): Promise<Wallet | null> {
    return new WalletRepository(this.orm).findByCustomerAndCurrency(customerId, currency);
  }

  blocks(walletId: string, includeEmpty = false): Promise<CreditBlock[]> {
    return new WalletRepository(this.orm).blocks(walletId, includeEmpty);
  }

  entries(walletId: string, req: PageRequest): Promise<Page<LedgerEntry>> {
    if (req.after && !/^[0-9]{1,19}$/.test(req.after)) return Promise.resolve({ items: [], hasNextPage: false });
    return new WalletRepository(this.orm).entriesPage(walletId, req);
  }

  async entry(id: string): Promise<LedgerEntry> {
    const entry = await new WalletRepository(this.orm).entryById(id);
    if (!entry) throw notFound('ledger entry', id);
    return entry;
  }

  /**
   * Money into a wallet (a top-up, a grant) in a ledger transaction of its own, with the credited
   * hooks in the same transaction once it appended (a replay appends nothing and runs none), and
   * what they leave for after the commit.
   */
  private async credit(move: (client: SqlClient, appended: AppendResult[]) => Promise<LedgerMoveResult>): Promise<LedgerMoveResult> {
    let after: Array<() => void> = [];
    const result = await this.inLedgerTransaction(async (client, appended) => {
      after = []; // a retried transaction starts over
      const moved = await move(client, appended);
      if (appended.length === 0) return moved;
      for (const hook of this.creditedHooks) {
        const then = await hook(client, { walletId: moved.walletId, entryId: moved.entryId, at: this.clock.now() });
        if (then) after.push(then);
      }
      return moved;
    });
    for (const then of after) then();
    return result;
  }

  /**
   * Claims the idempotency key, runs the movement and stores its result, inside a ledger
   * transaction already open; a retry with the same key and request gets the stored result, a
   * different request with the key an error.
   */
  private async moveMoneyIn(
    client: SqlClient,
    appended: AppendResult[],
    operation: string,
    key: string,
    hash: string,
    walletId: string,
    move: (client: SqlClient, appended: AppendResult[], now: Date) => Promise<AppendResult>,
  ): Promise<LedgerMoveResult> {
    const now = this.clock.now();
    const claim = await this.idempotency.claim<Omit<LedgerMoveResult, 'replayed'>>(client, operation, key, hash, now);
    if (claim.kind === 'replay') return { ...claim.response, replayed: true };
    if (!(await mainBlockId(client, walletId))) throw notFound('wallet', walletId);
    const result = await move(client, appended, now);
    const entry = result.entries[0]!;
    const totals = result.wallets.get(walletId)!;
    const response: Omit<LedgerMoveResult, 'replayed'> = {
      walletId,
      entryId: entry.id,
      creditBlockId: entry.creditBlockId,
      balanceAfter: totals.balance.toString(),
      version: totals.version.toString(),
    };
    await this.idempotency.complete(client, operation, key, response);
    return { ...response, replayed: false };
  }

  private async require(repo: WalletRepository, id: string): Promise<Wallet> {
    const wallet = isUuid(id) ? await repo.findById(id) : null;
    if (!wallet) throw notFound('wallet', id);
    return wallet;
  }

  private checkOverdraft(check: Checker, mode: LimitMode, limit: Decimal | null | undefined): bigint {
    if (!Object.values(LimitMode).includes(mode)) {
      check.fail('limitMode', 'must be HARD, SOFT or OVERDRAFT');
      return 0n;
    }
    if (mode !== LimitMode.OVERDRAFT) {
      if (limit && !limit.isZero()) check.fail('overdraftLimit', 'is only allowed with limitMode OVERDRAFT');
      return 0n;
    }
    const checked = checkAmount(check, 'overdraftLimit', limit);
    return checked ? toLedgerUnits(checked) : 0n;
  }
}

/** The wallet.topped_up webhook of a top-up's append (one entry), with the balance it left. */
function toppedUp(result: AppendResult, walletId: string): WebhookEmission {
  const entry = result.entries[0]!;
  const w = result.wallets.get(walletId)!;
  return {
    topic: WebhookTopic.WALLET_TOPPED_UP,
    eventId: webhookEventId(WebhookTopic.WALLET_TOPPED_UP, entry.id),
    data: {
      wallet: { id: walletId, customerId: w.customerId, currency: w.currency, balance: formatLedgerUnits(w.balance) },
      topUp: {
        entryId: entry.id,
        amount: formatLedgerUnits(entry.amount),
        reference: entry.reference ?? null,
        description: entry.description ?? null,
        createdAt: entry.createdAt.toISOString(),
      },
    },
    at: entry.createdAt,
  };
}
