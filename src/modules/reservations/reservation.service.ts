import type { Clock } from '../../shared/clock.js';
import { notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { Checker } from '../../shared/validation.js';
import {
  type AuthorizeUsageCommand,
  checkDimensions,
  type HoldListener,
  keyReused,
  type RecordUsageCommand,
  type RefusalCode,
  reservationClosed,
  type UsageOutcome,
  type UsageService,
} from '../usage/index.js';
import type { ReservationStore } from './reservation.store.js';
import { ReservationStatus, type Reservation } from './reservation.record.js';
import type { ReservationRepository } from './reservation.repository.js';

export interface SettleReservationCommand extends Omit<RecordUsageCommand, 'customerId' | 'externalCustomerId' | 'meterCode'> {
  reservationId: string;
}

export type AuthorizeOutcome =
  | { kind: 'authorized'; reservation: Reservation; replay: boolean }
  | { kind: 'refused'; code: RefusalCode; message: string; details: Record<string, unknown> };

/**
 * Two-phase usage for long work: authorize holds an estimate (with a time to live), settle
 * records the actual usage against the hold and gives back the rest, release cancels. Expired
 * reservations are released by the sweep and can no longer be settled. All three are idempotent.
 * Authorize and settle run the usage pipeline (UsageService); this service adds what is
 * particular to reservations.
 */
export class ReservationService {
  private readonly holdListeners: HoldListener[] = [];

  constructor(
    private readonly store: ReservationStore,
    private readonly usage: UsageService,
    readonly repo: ReservationRepository,
    private readonly clock: Clock,
  ) {}

  onHoldsChanged(listener: HoldListener): void {
    this.holdListeners.push(listener);
  }

  /** Tells the listeners (also used by the sweep when reservations expire). */
  holdsChanged(customerId: string, walletId: string | null, change: 'HOLD' | 'RELEASE'): void {
    for (const listener of this.holdListeners) listener(customerId, walletId, change);
  }

  async authorize(cmd: AuthorizeUsageCommand): Promise<AuthorizeOutcome> {
    const outcome = await this.usage.authorize(cmd);
    switch (outcome.kind) {
      case 'authorized':
      case 'refused':
        return outcome;
      case 'error':
        throw outcome.error;
      default:
        throw new Error(`unexpected outcome ${outcome.kind} of an authorization`);
    }
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
