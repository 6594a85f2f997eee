import type { Config } from '../../config/config.js';
import { rateEvent, rateEventIfWarm } from '../../rating/rate-event.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode, notFound } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import { Decimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits, toLedgerUnits } from '../../shared/money/units.js';
import { Checker, checkAmount } from '../../shared/validation.js';
import { formatDecimal } from '../../shared/money/decimal.js';
import { requestHash } from '../idempotency/request-hash.js';
import type { UsageContextResolver } from '../usage/usage-context.js';
import { checkDimensions, checkDistinctValue, checkMeterQuantity, checkValues } from '../usage/usage-event.checks.js';
import { meterFacts, ratingRefusal } from '../usage/usage-rating.js';
import { keyReused, reservationClosed, type RecordUsageCommand, type UsageOutcome, type UsageService } from '../usage/usage.service.js';
import type { AccountStateService } from './account-state.service.js';
import type { HoldRecord, ReservationStore, ReserveResult } from './reservation-store.js';
import { ReservationStatus, type Reservation } from './reservation.entity.js';
import { ReservationRepository } from './reservation.repository.js';

export interface AuthorizeUsageCommand {
  customerId?: string | null;
  externalCustomerId?: string | null;
  meterCode: string;
  /** Hold this quantity, priced by the rules; or give estimatedAmount. */
  estimatedQuantity?: Decimal | null;
  estimatedAmount?: Decimal | null;
  dimensions?: unknown;
  values?: unknown;
  ttlSeconds?: number | null;
  idempotencyKey: string;
}

export interface SettleReservationCommand extends Omit<RecordUsageCommand, 'customerId' | 'externalCustomerId' | 'meterCode'> {
  reservationId: string;
}

export type AuthorizeOutcome =
  | { kind: 'authorized'; reservation: Reservation; replay: boolean }
  | { kind: 'refused'; code: 'WALLET_INSUFFICIENT_FUNDS' | 'SPENDING_LIMIT_REACHED' | 'RULE_REFUSED' | 'UNPRICED_EVENT'; message: string; details: Record<string, unknown> };

const MIN_TTL = 1;
const MAX_TTL = 7 * 86_400;

/**
 * Two-phase usage for long work: authorize holds an estimate (with a time to live), settle
 * records the actual usage against the hold and gives back the rest, release cancels. Expired
 * reservations are released by the sweep and can no longer be settled. All three are idempotent.
 */
/** Told when an authorization holds money or a hold is given back (live updates, alerts on available balance). */
export type HoldListener = (customerId: string, walletId: string | null, change: 'HOLD' | 'RELEASE') => void;

export class ReservationService {
  readonly repo: ReservationRepository;
  private readonly holdListeners: HoldListener[] = [];

  constructor(
    private readonly contexts: UsageContextResolver,
    private readonly store: ReservationStore,
    private readonly accounts: AccountStateService,
    private readonly usage: UsageService,
    sql: ConstructorParameters<typeof ReservationRepository>[0],
    private readonly config: Config['usage'],
    private readonly clock: Clock,
  ) {
    this.repo = new ReservationRepository(sql);
  }

  onHoldsChanged(listener: HoldListener): void {
    this.holdListeners.push(listener);
  }

  /** Tells the listeners (also used by the sweep when reservations expire). */
  holdsChanged(customerId: string, walletId: string | null, change: 'HOLD' | 'RELEASE'): void {
    for (const listener of this.holdListeners) listener(customerId, walletId, change);
  }

  async authorize(cmd: AuthorizeUsageCommand): Promise<AuthorizeOutcome> {
    const now = this.clock.now();
    const check = new Checker();
    const key = check.idempotencyKey('idempotencyKey', cmd.idempotencyKey);
    if (!!cmd.customerId === !!cmd.externalCustomerId) check.fail('customerId', 'give exactly one of customerId and externalCustomerId');
    if (!!cmd.estimatedQuantity === !!cmd.estimatedAmount) check.fail('estimatedQuantity', 'give exactly one of estimatedQuantity and estimatedAmount');
    const ttl = check.integer('ttlSeconds', cmd.ttlSeconds ?? 900, { min: MIN_TTL, max: MAX_TTL }) ?? 900;
    const amount = cmd.estimatedAmount ? checkAmount(check, 'estimatedAmount', cmd.estimatedAmount) : undefined;
    check.done();
    const [customer, meter] = await Promise.all([this.contexts.customer({ id: cmd.customerId, externalId: cmd.externalCustomerId }), this.contexts.meter(cmd.meterCode)]);
    const quantity = cmd.estimatedQuantity ? checkMeterQuantity(check, 'estimatedQuantity', cmd.estimatedQuantity, meter) : undefined;
    const dimensions = checkDimensions(check, 'dimensions', cmd.dimensions, meter);
    checkDistinctValue(check, 'dimensions', dimensions, meter);
    const values = checkValues(check, 'values', cmd.values);
    check.done();
    const ctx = await this.contexts.resolve(customer, meter, now);
    const hash = requestHash({ customer: customer.id, meter: meter.code, quantity, amount, dimensions: { ...dimensions }, values: { ...values }, ttl });

    // The authorised event is rated even when an amount is held: what the rules refuse, or no
    // charge prices, cannot be authorised (a settle would be refused for the same reason).
    const input = {
      event: { meter: meter.code, quantity: quantity ?? new Decimal(1), timestamp: now, dimensions, values },
      customer: { id: customer.id, externalId: customer.externalId, metadata: customer.metadata },
      plan: ctx.active ? { code: ctx.active.plan.plan.code, version: ctx.active.plan.plan.version } : null,
      period: { quantity: new Decimal(0), counters: { get: () => undefined } },
      meter: meterFacts(meter, dimensions),
    };
    const rating = rateEventIfWarm(ctx.ruleSet, input) ?? (await rateEvent(ctx.ruleSet, input));
    if (rating.refusal) {
      const refusal = ratingRefusal(rating.refusal);
      return { kind: 'refused', code: refusal.code as 'RULE_REFUSED' | 'UNPRICED_EVENT', message: refusal.message, details: refusal.details };
    }
    const units = amount ? toLedgerUnits(amount) : rating.units;

    const id = newId(now.getTime());
    const expiresAt = new Date(now.getTime() + ttl * 1000);
    const event = {
      idempotencyKey: key!,
      requestHash: hash,
      holdId: id,
      expiresAt: expiresAt.getTime(),
      kind: 'authorization' as const,
      currency: ctx.ruleSet.currency,
      amount: units,
      periodKey: ctx.periodKey,
      counters: [],
      meterQuantity: null,
      settles: null,
    };
    let result: ReserveResult | undefined;
    for (let attempt = 0; attempt < 5 && !result; attempt++) {
      const reply = await this.store.reserve(customer.id, now.getTime(), [event], false);
      if (reply.kind === 'LOAD') await this.accounts.ensureLoaded(customer.id);
      else if (reply.kind === 'PERIOD') await this.accounts.ensurePeriods(customer.id, reply.periods);
      else result = reply.results[0];
    }
    if (!result) throw new AppError(ErrorCode.CONFLICT, 'the authorization could not be reserved; retry');
    switch (result.status) {
      case 'FUNDS':
        return { kind: 'refused', code: 'WALLET_INSUFFICIENT_FUNDS', message: 'the wallet does not hold enough funds for this estimate', details: { available: formatLedgerUnits(result.available) } };
      case 'CAP':
        return { kind: 'refused', code: 'SPENDING_LIMIT_REACHED', message: "the customer's spending cap for this period is reached", details: {} };
      case 'DUP':
        return this.replayAuthorization(customer.id, key!, hash);
      case 'PENDING':
        throw new AppError(ErrorCode.CONFLICT, 'an authorization with this key is in progress; retry shortly');
      case 'REUSED':
        throw keyReused(key!);
      case 'OK':
        break;
      default:
        throw new AppError(ErrorCode.CONFLICT, 'the authorization could not be reserved; retry');
    }

    const hold: HoldRecord = {
      t: 'r',
      k: key!,
      hs: hash,
      cur: event.currency,
      amt: units.toString(),
      w: result.walletId ?? '',
      a: result.allocations.map((a) => [a.blockId, a.amount.toString()]),
      exp: String(event.expiresAt),
      cr: String(now.getTime()),
      per: ctx.periodKey,
      c: [],
      mq: null,
      postpaid: result.walletId === null,
    };
    const reservation: Reservation = {
      id,
      customerId: customer.id,
      idempotencyKey: key!,
      requestHash: hash,
      meterCode: meter.code,
      dimensions: { ...dimensions },
      values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, formatDecimal(v)])),
      estimatedQuantity: quantity ? formatDecimal(quantity) : null,
      currency: event.currency,
      walletId: result.walletId,
      amount: units,
      hold,
      periodStart: ctx.period.start,
      status: ReservationStatus.OPEN,
      expiresAt,
      settledEventId: null,
      createdAt: now,
      updatedAt: now,
    };
    let version: bigint | null;
    try {
      version = await this.repo.insert(reservation);
    } catch (err) {
      await this.store.release(customer.id, [id], true).catch(() => undefined);
      throw err;
    }
    if (version === null) {
      await this.store.release(customer.id, [id], true).catch(() => undefined);
      return this.replayAuthorization(customer.id, key!, hash);
    }
    await this.store
      .post(customer.id, version, [
        { holdId: id, idempotencyKey: key!, requestHash: hash, ref: id, keep: true, hold, allocations: result.allocations, periodKey: '', counters: [], meterQuantity: null, currency: event.currency, amount: units, postpaid: hold.postpaid, walletId: result.walletId },
      ], now.getTime())
      .catch(() => undefined);
    this.holdsChanged(customer.id, reservation.walletId, 'HOLD');
    return { kind: 'authorized', reservation, replay: false };
  }

  private async replayAuthorization(customerId: string, key: string, hash: string): Promise<AuthorizeOutcome> {
    const existing = await this.repo.findByKey(customerId, key);
    if (!existing) throw new AppError(ErrorCode.CONFLICT, 'an authorization with this key is in progress; retry shortly');
    if (existing.requestHash !== hash) throw keyReused(key);
    return { kind: 'authorized', reservation: existing, replay: true };
  }

  /**
   * Records the actual usage of a reservation: charged from its hold first, the rest released.
   * The authorisation defined what is bought: the usage is priced with its dimensions (a settle
   * naming others is refused) and its values, which the settle may update with actual figures
   * (a provider's final cost, say).
   */
  async settle(cmd: SettleReservationCommand): Promise<{ outcome: UsageOutcome; reservation: Reservation }> {
    const reservation = isUuid(cmd.reservationId) ? await this.repo.findById(cmd.reservationId) : null;
    if (!reservation) throw notFound('reservation', cmd.reservationId);
    const now = this.clock.now();
    const command: RecordUsageCommand = {
      ...cmd,
      customerId: reservation.customerId,
      meterCode: reservation.meterCode,
      timestamp: cmd.timestamp ?? null,
      dimensions: settledDimensions(reservation, cmd.dimensions),
      values: settledValues(reservation, cmd.values),
    };
    const job = await this.usage.prepare(command, 0, now);
    if (reservation.status !== ReservationStatus.OPEN || reservation.expiresAt.getTime() <= now.getTime()) {
      // A retry of a settle that already happened gets its result; anything else is refused.
      const earlier = await this.usage.repository.findByKey(reservation.customerId, job.key);
      if (earlier && earlier.reservationId === reservation.id) {
        if (earlier.requestHash !== job.hash) throw keyReused(job.key);
        return { outcome: { kind: 'accepted', event: earlier, replay: true }, reservation };
      }
      throw reservationClosed();
    }
    job.settles = { holdId: reservation.id, reservationId: reservation.id };
    const [outcome] = await this.usage.run([job], false);
    return { outcome: outcome!, reservation: (await this.repo.findById(reservation.id))! };
  }

  async release(reservationId: string): Promise<Reservation> {
    const closed = isUuid(reservationId) ? await this.repo.close(reservationId, ReservationStatus.RELEASED, this.clock.now()) : null;
    if (!closed) throw notFound('reservation', reservationId);
    if (closed.status === ReservationStatus.SETTLED) throw reservationClosed();
    await this.store.release(closed.customerId, [closed.id], false).catch(() => undefined);
    this.holdsChanged(closed.customerId, closed.walletId, 'RELEASE');
    return closed;
  }

  async get(id: string): Promise<Reservation | null> {
    return isUuid(id) ? this.repo.findById(id) : null;
  }
}

/** The dimensions a settle prices with: the authorised ones; naming different ones is refused. */
function settledDimensions(reservation: Reservation, given: unknown): Record<string, string> {
  if (given === null || given === undefined) return { ...reservation.dimensions };
  const check = new Checker();
  const dims = checkDimensions(check, 'dimensions', given, null);
  check.done();
  const authorised = reservation.dimensions;
  const keys = new Set([...Object.keys(authorised), ...Object.keys(dims)]);
  for (const k of [...keys].sort()) {
    if (dims[k] !== authorised[k]) {
      const was = authorised[k] === undefined ? 'none' : JSON.stringify(authorised[k]);
      check.fail(`dimensions.${k}`, `must be what was authorised (${was}): a settle prices what the authorisation held`);
    }
  }
  check.done();
  return { ...authorised };
}

/** The authorised values, updated by those the settle gives (checked with the event; a non-object fails there). */
function settledValues(reservation: Reservation, given: unknown): unknown {
  if (given === null || given === undefined) return { ...reservation.values };
  if (typeof given !== 'object' || Array.isArray(given)) return given;
  return { ...reservation.values, ...(given as Record<string, unknown>) };
}
