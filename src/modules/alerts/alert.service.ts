import { isUniqueViolation, type SqlPool } from '../../db/sql.js';
import { toTimeIdPosition, type Page, type PageRequest, type TimeIdPosition } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode, forbidden, notFound, ValidationError } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import { isoCurrencyExponent } from '../../shared/money/currencies.js';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import { LEDGER_SCALE, QUANTITY_SCALE } from '../../shared/money/units.js';
import { Checker, checkAmount } from '../../shared/validation.js';
import type { CustomerService } from '../customers/index.js';
import type { MeterService } from '../meters/index.js';
import type { WalletService } from '../wallets/index.js';
import { AlertDirection, AlertMetric, RechargeFailurePolicy, type AlertRecord } from './alert.record.js';
import { AlertRepository, autoRechargeOf, evaluateAlerts, type AlertDefinition } from './alert.repository.js';

export interface CreateAlertDefinitionCommand {
  name?: string | null;
  metric: AlertMetric;
  customerId?: string | null;
  walletId?: string | null;
  currency?: string | null;
  meterCode?: string | null;
  direction?: AlertDirection | null;
  threshold: Decimal;
  every?: Decimal | null;
  allowance?: Decimal | null;
  topUpAmount?: Decimal | null;
  topUpTarget?: Decimal | null;
  /** A default copied onto every new wallet (of `currency`, or of any): wallet metrics only. */
  defaultForNewWallets?: boolean | null;
  /** A customer acting for itself (a token with the MANAGE scope): the only customer it may watch; no defaults, no top-ups. */
  asCustomer?: string | null;
}

export interface UpdateAlertDefinitionCommand {
  id: string;
  name?: string | null;
  threshold?: Decimal | null;
  every?: Decimal | null;
  allowance?: Decimal | null;
  topUpAmount?: Decimal | null;
  topUpTarget?: Decimal | null;
  enabled?: boolean | null;
  /** A customer acting for itself: only its own definitions, no top-ups. */
  asCustomer?: string | null;
}

/** A wallet's auto-recharge: the auto top-up definition the provider charges (README, "Collecting payments"). */
export interface SetWalletAutoRechargeCommand {
  walletId: string;
  enabled?: boolean | null;
  threshold: Decimal;
  amount?: Decimal | null;
  target?: Decimal | null;
  onFailure?: RechargeFailurePolicy | null;
}

const WALLET_METRICS: AlertMetric[] = [AlertMetric.WALLET_BALANCE, AlertMetric.WALLET_AVAILABLE];
const PERCENT_METRICS: AlertMetric[] = [AlertMetric.SPENDING_CAP_USED, AlertMetric.ALLOWANCE_USED];
const METER_METRICS: AlertMetric[] = [AlertMetric.METER_USAGE, AlertMetric.ALLOWANCE_USED];
const MAX_VALUE = new Decimal('1e15');

/** Told about alerts recorded outside usage and ledger commits (a new or changed definition that is already crossed). */
export type AlertsListener = (alerts: AlertRecord[]) => void;

/**
 * Alert definitions (thresholds with a direction and an optional recurrence), the defaults for
 * new wallets, and the alerts recorded. The crossing itself is detected in the database, in the
 * transaction of the change that caused it (alert_evaluate).
 */
export class AlertService {
  private readonly repo: AlertRepository;
  /** The lists callers read (definitions, alerts), apart from the definitions' writes. */
  private readonly reads: AlertRepository;
  private readonly listeners: AlertsListener[] = [];

  constructor(
    private readonly sql: SqlPool,
    private readonly customers: CustomerService,
    private readonly wallets: WalletService,
    private readonly meters: MeterService,
    private readonly clock: Clock,
    readSql: SqlPool = sql,
  ) {
    this.repo = new AlertRepository(sql);
    this.reads = new AlertRepository(readSql);
  }

  onRecorded(listener: AlertsListener): void {
    this.listeners.push(listener);
  }

  async create(cmd: CreateAlertDefinitionCommand): Promise<{ definition: AlertDefinition; fired: AlertRecord[] }> {
    const check = new Checker();
    const metric = cmd.metric;
    const isDefault = !!cmd.defaultForNewWallets;
    const wallet = WALLET_METRICS.includes(metric);
    if (isDefault && !wallet) check.fail('defaultForNewWallets', 'defaults for new wallets watch WALLET_BALANCE or WALLET_AVAILABLE');
    if (isDefault && (cmd.customerId || cmd.walletId)) check.fail('defaultForNewWallets', 'a default belongs to no customer or wallet; leave customerId and walletId out');
    if (!isDefault && wallet && !cmd.walletId) check.fail('walletId', `is required for ${metric}`);
    if (!isDefault && !wallet && !cmd.customerId) check.fail('customerId', `is required for ${metric}`);
    if (!wallet && cmd.walletId) check.fail('walletId', `only wallet metrics take a wallet`);
    if (METER_METRICS.includes(metric) && !cmd.meterCode) check.fail('meterCode', `is required for ${metric}`);
    if (!METER_METRICS.includes(metric) && cmd.meterCode) check.fail('meterCode', `only METER_USAGE and ALLOWANCE_USED watch a meter`);
    if (metric === AlertMetric.ALLOWANCE_USED) this.positive(check, 'allowance', cmd.allowance, QUANTITY_SCALE);
    else if (cmd.allowance) check.fail('allowance', 'only ALLOWANCE_USED takes an allowance');
    if (cmd.currency && !(wallet && isDefault) && metric !== AlertMetric.PERIOD_SPEND) check.fail('currency', 'only PERIOD_SPEND and defaults for new wallets take a currency');
    const name = cmd.name ? check.text('name', cmd.name, { max: 200 }) : undefined;
    const direction = cmd.direction ?? (wallet ? AlertDirection.BELOW : AlertDirection.ABOVE);
    const values = this.checkValues(check, metric, direction, cmd);
    check.done();
    if (cmd.asCustomer && isDefault) throw forbidden('defaults for new wallets need an ADMIN key');
    this.checkSelfService(cmd);

    let customerId: string | null = null;
    let walletId: string | null = null;
    let currency: string | null = cmd.currency ?? null;
    if (!isDefault && cmd.walletId) {
      const w = isUuid(cmd.walletId) ? await this.wallets.find(cmd.walletId) : null;
      // Another customer's wallet answers as an unknown one, as the wallet query does.
      if (!w || (cmd.asCustomer && w.customerId !== cmd.asCustomer)) throw notFound('wallet', cmd.walletId);
      walletId = w.id;
      customerId = w.customerId;
      currency = w.currency;
    } else if (!isDefault) {
      customerId = (await this.customers.get({ id: cmd.customerId! })).id;
    }
    if (cmd.asCustomer && customerId !== cmd.asCustomer) throw forbidden("a customer token may only watch its own customer's figures");
    if (cmd.meterCode && !(await this.meters.findByCode(cmd.meterCode))) throw notFound('meter', cmd.meterCode);

    const now = this.clock.now();
    const definition = {
      id: newId(now.getTime()),
      customerId,
      walletId,
      currency,
      name: name ?? describe(metric, direction, values.threshold, cmd.meterCode ?? null, currency),
      metric,
      meterCode: cmd.meterCode ?? null,
      direction,
      ...values,
      enabled: true,
      rechargeOnFailure: null,
      createdAt: now,
      updatedAt: now,
    };
    return this.saved(customerId, definition.id, async (client) => this.repo.insert(client, definition));
  }

  async update(cmd: UpdateAlertDefinitionCommand): Promise<{ definition: AlertDefinition; fired: AlertRecord[] }> {
    const current = this.visible(isUuid(cmd.id) ? await this.repo.find(cmd.id) : null, cmd.asCustomer);
    if (!current) throw notFound('alert definition', cmd.id);
    this.checkSelfService(cmd);
    if (current.rechargeOnFailure) throw new ValidationError([{ path: 'id', message: "is a wallet's auto-recharge: change it with setWalletAutoRecharge" }]);
    const check = new Checker();
    const name = cmd.name ? check.text('name', cmd.name, { max: 200 }) : current.name;
    if (cmd.allowance && current.metric !== AlertMetric.ALLOWANCE_USED) check.fail('allowance', 'only ALLOWANCE_USED takes an allowance');
    const merged = {
      threshold: cmd.threshold ?? new Decimal(current.threshold),
      every: cmd.every === undefined ? (current.every === null ? null : new Decimal(current.every)) : cmd.every,
      allowance: cmd.allowance ?? (current.allowance === null ? null : new Decimal(current.allowance)),
      topUpAmount: cmd.topUpAmount === undefined ? (current.topUpAmount === null ? null : new Decimal(current.topUpAmount)) : cmd.topUpAmount,
      topUpTarget: cmd.topUpTarget === undefined ? (current.topUpTarget === null ? null : new Decimal(current.topUpTarget)) : cmd.topUpTarget,
    };
    if (current.metric === AlertMetric.ALLOWANCE_USED) this.positive(check, 'allowance', merged.allowance, QUANTITY_SCALE);
    const values = this.checkValues(check, current.metric, current.direction, merged);
    check.done();
    const rearm = values.threshold !== current.threshold || values.every !== current.every || values.allowance !== current.allowance;
    const next: AlertDefinition = { ...current, name: name!, ...values, enabled: cmd.enabled ?? current.enabled, updatedAt: this.clock.now() };
    return this.saved(current.customerId, current.id, (client) => this.repo.update(client, next, rearm));
  }

  /**
   * Sets a wallet's auto-recharge: its one auto top-up definition (WALLET_AVAILABLE falling
   * BELOW the threshold, a fixed amount or a target) marked with what a failed charge does.
   * Setting it starts it afresh, so that a wallet already below the threshold is recharged at
   * once (after a failure, once the payment method is fixed). Amounts are whole minor units of
   * the wallet's currency: a card is charged in them.
   */
  async setAutoRecharge(cmd: SetWalletAutoRechargeCommand): Promise<{ definition: AlertDefinition; fired: AlertRecord[] }> {
    const check = new Checker();
    if (!isUuid(cmd.walletId)) check.fail('walletId', 'must be a wallet id');
    checkAmount(check, 'threshold', cmd.threshold, { zero: true, negative: true });
    const onFailure = cmd.onFailure ?? RechargeFailurePolicy.NONE;
    if (!Object.values(RechargeFailurePolicy).includes(onFailure)) check.fail('onFailure', 'must be NONE or SUSPEND');
    if (!!cmd.amount === !!cmd.target) check.fail('amount', 'give a fixed amount or a target, exactly one');
    check.done();
    const wallet = await this.wallets.find(cmd.walletId);
    if (!wallet) throw notFound('wallet', cmd.walletId);
    const exponent = isoCurrencyExponent(wallet.currency);
    if (exponent === undefined) check.fail('walletId', `auto-recharge charges money: the wallet's ${wallet.currency} is a credit unit, not an ISO 4217 currency`);
    const minor = (path: string, value: Decimal) => {
      if (checkAmount(check, path, value) && exponent !== undefined && value.decimalPlaces() > exponent) check.fail(path, `must be whole minor units of ${wallet.currency} (at most ${exponent} decimal places)`);
    };
    if (cmd.amount) minor('amount', cmd.amount);
    if (cmd.target) {
      minor('target', cmd.target);
      if (!cmd.target.greaterThan(cmd.threshold)) check.fail('target', 'must be above the threshold');
    }
    check.done();
    const now = this.clock.now();
    const values = { threshold: formatDecimal(cmd.threshold), topUpAmount: cmd.amount ? formatDecimal(cmd.amount) : null, topUpTarget: cmd.target ? formatDecimal(cmd.target) : null };
    const enabled = cmd.enabled ?? true;
    let id = newId(now.getTime());
    try {
      return await this.saved(wallet.customerId, () => id, async (client) => {
        const current = await this.repo.lockAutoRecharge(client, wallet.id);
        if (current) {
          id = current.id;
          return this.repo.update(client, { ...current, ...values, enabled, rechargeOnFailure: onFailure, updatedAt: now }, true);
        }
        await this.repo.insert(client, {
          id, customerId: wallet.customerId, walletId: wallet.id, currency: wallet.currency, name: 'Auto-recharge', metric: AlertMetric.WALLET_AVAILABLE,
          meterCode: null, direction: AlertDirection.BELOW, every: null, allowance: null, ...values, enabled, rechargeOnFailure: onFailure, createdAt: now, updatedAt: now,
        });
      });
    } catch (err) {
      // Two first settings of one wallet at once: the other one won; this one may be sent again.
      if (isUniqueViolation(err, 'alert_definition_wallet_recharge')) throw new AppError(ErrorCode.CONFLICT, 'the wallet\'s auto-recharge was set at the same time by another request; send this one again');
      throw err;
    }
  }

  /** A wallet's auto-recharge; null when it has none. */
  autoRecharge(walletId: string): Promise<AlertDefinition | null> {
    return isUuid(walletId) ? autoRechargeOf(this.sql, walletId) : Promise.resolve(null);
  }

  /** Stops watching; asCustomer: a customer acting for itself, which may not remove a wallet's auto-recharge. */
  async remove(id: string, asCustomer: string | null = null): Promise<AlertDefinition> {
    const current = this.visible(isUuid(id) ? await this.repo.find(id) : null, asCustomer);
    if (!current) throw notFound('alert definition', id);
    if (asCustomer && current.rechargeOnFailure) throw forbidden("a wallet's auto-recharge is changed with setWalletAutoRecharge, by an ADMIN key");
    await this.sql.transaction((client) => this.repo.remove(client, id, this.clock.now()));
    return current;
  }

  get(id: string): Promise<AlertDefinition | null> {
    return isUuid(id) ? this.repo.find(id) : Promise.resolve(null);
  }

  /** A page of a customer's definitions, or (customerId null) of the defaults, oldest first. */
  definitions(customerId: string | null, page: PageRequest): Promise<Page<{ definition: AlertDefinition; position: TimeIdPosition }>> {
    if (customerId !== null && !isUuid(customerId)) throw new ValidationError([{ path: 'customerId', message: 'must be a customer id' }]);
    return this.reads.page(customerId, toTimeIdPosition(page.after), page.first);
  }

  /** One alert by id; null for an unknown or malformed id. */
  alert(id: string): Promise<AlertRecord | null> {
    return isUuid(id) ? this.reads.alert(id) : Promise.resolve(null);
  }

  alerts(customerId: string, page: PageRequest): Promise<Page<AlertRecord>> {
    if (!isUuid(customerId)) throw new ValidationError([{ path: 'customerId', message: 'must be a customer id' }]);
    return this.reads.alerts(customerId, page);
  }

  /** Gives a new wallet the defaults of its currency, and checks them at once. */
  async applyDefaults(wallet: { id: string; customerId: string; currency: string }): Promise<void> {
    const now = this.clock.now();
    const fired = await this.sql.transaction(async (client) => {
      const copied = await this.repo.copyDefaults(client, wallet, () => newId(), now);
      return copied > 0 ? evaluateAlerts(client, [wallet.customerId], now) : [];
    });
    this.tell(fired);
  }

  /** Writes a definition and checks it against the current value in the same transaction. */
  private async saved(customerId: string | null, id: string | (() => string), write: (client: Parameters<typeof evaluateAlerts>[0]) => Promise<void>) {
    const { definition, fired } = await this.sql.transaction(async (client) => {
      await write(client);
      const fired = customerId ? await evaluateAlerts(client, [customerId], this.clock.now()) : [];
      return { definition: (await this.repo.find(typeof id === 'string' ? id : id(), client))!, fired };
    });
    this.tell(fired);
    return { definition, fired };
  }

  /**
   * A definition as a customer acting for itself sees it: another customer's (or a default for
   * new wallets) answers as an unknown id does, so ids disclose nothing.
   */
  private visible(found: AlertDefinition | null, asCustomer: string | null | undefined): AlertDefinition | null {
    return found && (!asCustomer || found.customerId === asCustomer) ? found : null;
  }

  /** Auto top-ups request money from the operator: a customer acting for itself sets none. */
  private checkSelfService(cmd: { asCustomer?: string | null; topUpAmount?: Decimal | null; topUpTarget?: Decimal | null }): void {
    if (cmd.asCustomer && (cmd.topUpAmount || cmd.topUpTarget)) throw forbidden('auto top-ups need an ADMIN key');
  }

  private tell(fired: AlertRecord[]): void {
    if (fired.length > 0) for (const listener of this.listeners) listener(fired);
  }

  private positive(check: Checker, path: string, value: Decimal | null | undefined, scale: number): void {
    if (!value) check.fail(path, 'is required');
    else if (!value.greaterThan(0) || value.greaterThan(MAX_VALUE) || value.decimalPlaces() > scale) check.fail(path, `must be above 0, at most 1e15, with at most ${scale} decimals`);
  }

  /** Threshold, recurrence and top-up, checked for the metric; returned as decimal strings. */
  private checkValues(
    check: Checker,
    metric: AlertMetric,
    direction: AlertDirection,
    v: { threshold: Decimal; every?: Decimal | null; allowance?: Decimal | null; topUpAmount?: Decimal | null; topUpTarget?: Decimal | null },
  ) {
    const percent = PERCENT_METRICS.includes(metric);
    const quantity = METER_METRICS.includes(metric) && !percent;
    // Money thresholds and steps are amounts like any other (checkAmount's bound): a balance or
    // a period's spend never goes beyond what the ledger holds, and a top-up asks for an amount
    // topUpWallet must accept.
    if (percent) {
      if (!v.threshold.greaterThan(0) || v.threshold.greaterThan(1000)) check.fail('threshold', 'a percent threshold must be above 0 and at most 1000');
      if (v.every) this.positive(check, 'every', v.every, LEDGER_SCALE);
    } else if (quantity) {
      if (v.threshold.abs().greaterThan(MAX_VALUE) || v.threshold.decimalPlaces() > QUANTITY_SCALE) check.fail('threshold', `must be at most 1e15 in magnitude, with at most ${QUANTITY_SCALE} decimals`);
      if (v.every) this.positive(check, 'every', v.every, QUANTITY_SCALE);
    } else {
      checkAmount(check, 'threshold', v.threshold, { zero: true, negative: true });
      if (v.every) checkAmount(check, 'every', v.every);
    }
    const topUp = !!v.topUpAmount || !!v.topUpTarget;
    if (topUp && !(metric === AlertMetric.WALLET_AVAILABLE && direction === AlertDirection.BELOW)) check.fail('topUpAmount', 'auto top-up watches WALLET_AVAILABLE falling BELOW a threshold');
    if (v.topUpAmount && v.topUpTarget) check.fail('topUpAmount', 'give a fixed topUpAmount or a topUpTarget, not both');
    if (v.topUpAmount) checkAmount(check, 'topUpAmount', v.topUpAmount);
    if (v.topUpTarget) {
      checkAmount(check, 'topUpTarget', v.topUpTarget);
      if (!v.topUpTarget.greaterThan(v.threshold)) check.fail('topUpTarget', 'must be above the threshold');
    }
    const str = (d: Decimal | null | undefined) => (d ? formatDecimal(d) : null);
    return { threshold: formatDecimal(v.threshold), every: str(v.every), allowance: str(v.allowance), topUpAmount: str(v.topUpAmount), topUpTarget: str(v.topUpTarget) };
  }
}

function describe(metric: AlertMetric, direction: AlertDirection, threshold: string, meterCode: string | null, currency: string | null): string {
  const what = {
    WALLET_BALANCE: 'wallet balance',
    WALLET_AVAILABLE: 'available balance',
    PERIOD_SPEND: 'spend this period',
    METER_USAGE: `${meterCode} usage this period`,
    SPENDING_CAP_USED: 'spending cap used',
    ALLOWANCE_USED: `${meterCode} allowance used`,
  }[metric];
  const unit = PERCENT_METRICS.includes(metric) ? '%' : currency && !METER_METRICS.includes(metric) ? ` ${currency}` : '';
  return `${what} ${direction === AlertDirection.BELOW ? 'below' : 'reaches'} ${threshold}${unit}`;
}
