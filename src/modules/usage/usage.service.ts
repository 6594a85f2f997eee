import type { Config } from '../../config/config.js';
import { rateEvent, rateEventIfWarm } from '../../rating/rate-event.js';
import type { EventRating, RatingInput } from '../../rating/types.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode, ValidationError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import { asUnavailable } from '../../db/sql.js';
import { Checker } from '../../shared/validation.js';
import { requestHash } from '../idempotency/request-hash.js';
import type { AccountStateService } from '../reservations/account-state.service.js';
import type { CounterCheck, PostItem, ReservationStore, ReserveEvent, ReserveResult, WalletFigures } from '../reservations/reservation-store.js';
import { CounterCache, toCounterUnits } from './counter-cache.js';
import { meterFacts, ratingRefusal } from './usage-rating.js';
import { GroupCommitter } from './group-committer.js';
import { storedLines, type UsageEventRecord } from './usage-event.entity.js';
import { checkDimensions, checkDistinctValue, checkMeterQuantity, checkValues } from './usage-event.checks.js';
import type { UsageContext, UsageContextResolver } from './usage-context.js';
import { notCommitted, UsageRepository, type CommitBundle, type CommitOutcome, type CustomerNotice } from './usage.repository.js';

export interface RecordUsageCommand {
  customerId?: string | null;
  externalCustomerId?: string | null;
  meterCode: string;
  quantity?: Decimal | null;
  timestamp?: Date | null;
  dimensions?: unknown;
  values?: unknown;
  idempotencyKey: string;
}

/** Told after each group commit, once its holds are posted: what changed, for live updates. */
export interface UsageCommitted {
  notices: CustomerNotice[];
  events: UsageEventRecord[];
  /** Wallet figures from the store after the posts (missing when a post failed). */
  wallets: Map<string, WalletFigures>;
}

/** A request's share of a group commit: its outcomes, and a promise that its holds are posted. */
interface Committed {
  outcomes: CommitOutcome[];
  posted: Promise<void>;
}

export type RefusalCode = 'WALLET_INSUFFICIENT_FUNDS' | 'SPENDING_LIMIT_REACHED' | 'RULE_REFUSED' | 'UNPRICED_EVENT';

export type UsageOutcome =
  | { kind: 'accepted'; event: UsageEventRecord; replay: boolean }
  | { kind: 'refused'; code: RefusalCode; message: string; details: Record<string, unknown> }
  | { kind: 'error'; error: AppError }
  | { kind: 'skipped'; because: number };

/** A usage event on its way through rating, reservation and commit. */
export interface UsageJob {
  index: number;
  key: string;
  hash: string;
  ctx: UsageContext;
  at: Date;
  quantity: Decimal;
  dimensions: Record<string, string>;
  values: Record<string, Decimal>;
  eventId: string;
  holdId: string;
  /** The authorization hold and reservation this event settles. */
  settles: { holdId: string; reservationId: string } | null;
  rating?: EventRating;
  reserved?: Extract<ReserveResult, { status: 'OK' }>;
  outcome?: UsageOutcome;
  waiting?: boolean;
}

const MAX_ROUNDS = 50;
const WAIT_FOR_DUPLICATE_MS = 5_000;
export const MAX_BATCH = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * recordUsage and recordUsageBatch: validate, rate, reserve atomically in the store, make
 * durable in PostgreSQL (group commit), then post the holds. Nothing is charged twice: the store
 * remembers idempotency keys, and PostgreSQL's unique (customer, key) settles any race the store
 * cannot see (after losing its state).
 */
export class UsageService {
  private readonly repo: UsageRepository;
  private readonly committer: GroupCommitter<CommitBundle, Committed>;
  private readonly listeners: Array<(committed: UsageCommitted) => void> = [];
  private readonly counters = new CounterCache();

  constructor(
    private readonly contexts: UsageContextResolver,
    private readonly store: ReservationStore,
    private readonly accounts: AccountStateService,
    sql: ConstructorParameters<typeof UsageRepository>[0],
    private readonly config: Config['usage'],
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly stages: StageTimer = noStages,
  ) {
    this.repo = new UsageRepository(sql);
    this.committer = new GroupCommitter(
      async (bundles) => {
        const started = performance.now();
        const { outcomes, notices } = await this.repo.commitBundles(bundles, this.clock.now());
        this.stages('commit', started);
        // The lane is free for the next commit while the holds are posted.
        const posted = this.afterCommit(bundles, outcomes, notices);
        return outcomes.map((o) => ({ outcomes: o, posted }));
      },
      {
      maxBatch: config.groupCommitMaxBatch,
      lanes: config.groupCommitLanes,
      // A bundle is one request's events, nearly always of one customer.
        keyOf: (bundle) => bundle.events[0]?.event.customerId ?? '',
      },
    );
  }

  /** Registers a listener for group commits (live updates). */
  onCommitted(listener: (committed: UsageCommitted) => void): void {
    this.listeners.push(listener);
  }

  /** Posts the holds of a group commit's events, one store call per customer, then tells the listeners. */
  private async afterCommit(bundles: CommitBundle[], outcomes: CommitOutcome[][], notices: CustomerNotice[]): Promise<void> {
    const posts = new Map<string, { version: bigint; items: PostItem[] }>();
    const events: UsageEventRecord[] = [];
    bundles.forEach((b, i) =>
      b.events.forEach((e, k) => {
        const o = outcomes[i]![k]!;
        if (o.kind !== 'committed') return;
        events.push(o.event);
        const p = posts.get(o.event.customerId) ?? { version: o.version, items: [] };
        p.items.push(e.post);
        posts.set(o.event.customerId, p);
      }),
    );
    const wallets = new Map<string, WalletFigures>();
    const now = this.clock.now().getTime();
    const posting = performance.now();
    await Promise.all(
      [...posts].map(async ([customerId, p]) => {
        try {
          for (const w of (await this.store.post(customerId, p.version, p.items, now)).wallets) wallets.set(w.walletId, w);
        } catch (err) {
          this.logger.warn({ customerId, err: (err as Error).message }, 'posting holds failed; the sweep will post them');
        }
      }),
    );
    this.stages('post', posting);
    if (events.length === 0 && notices.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener({ notices, events, wallets });
      } catch (err) {
        this.logger.error({ err }, 'a usage commit listener failed');
      }
    }
  }

  get repository(): UsageRepository {
    return this.repo;
  }

  /** Records events. With atomic, either all are charged or none is and the first failure says why. */
  async record(commands: RecordUsageCommand[], atomic: boolean): Promise<UsageOutcome[]> {
    if (commands.length > MAX_BATCH) throw new ValidationError([{ path: 'events', message: `at most ${MAX_BATCH} events per batch` }]);
    const started = performance.now();
    const now = this.clock.now();
    const prepared = await Promise.all(commands.map((c, i) => this.prepare(c, i, now).catch((err: unknown) => err)));
    const jobs: UsageJob[] = prepared.map((p, i) => (p instanceof Error ? this.failedJob(i, p) : (p as UsageJob)));
    this.stages('prepare', started);
    this.markRepeatedKeys(jobs);
    const outcomes = await this.run(jobs, atomic);
    this.stages('request', started);
    return outcomes;
  }

  /** Runs prepared jobs through reservation and commit (also used to settle reservations). */
  async run(jobs: UsageJob[], atomic: boolean): Promise<UsageOutcome[]> {
    if (atomic && this.failAtomic(jobs)) return jobs.map((j) => j.outcome!);
    await this.reserveAll(jobs, atomic);
    await this.replayRefusedDuplicates(jobs);
    if (atomic && this.failAtomic(jobs)) {
      await this.releaseHolds(jobs.filter((j) => j.reserved));
      return jobs.map((j) => j.outcome!);
    }
    await this.commitAll(jobs, atomic);
    return jobs.map((j) => j.outcome ?? { kind: 'error', error: new AppError(ErrorCode.INTERNAL_SERVER_ERROR, 'the event was not processed') });
  }

  /** Validates a command and resolves its context; throws AppError for a bad event. */
  async prepare(cmd: RecordUsageCommand, index: number, now: Date): Promise<UsageJob> {
    const check = new Checker();
    const key = check.idempotencyKey('idempotencyKey', cmd.idempotencyKey);
    if (!!cmd.customerId === !!cmd.externalCustomerId) check.fail('customerId', 'give exactly one of customerId and externalCustomerId');
    const meterCode = check.text('meterCode', cmd.meterCode, { max: 64, required: true });
    const at = cmd.timestamp ?? now;
    if (at.getTime() < now.getTime() - this.config.maxAgeMs) check.fail('timestamp', `is more than ${this.config.maxAgeMs / 86_400_000} days in the past`);
    if (at.getTime() > now.getTime() + this.config.maxFutureMs) check.fail('timestamp', `is more than ${this.config.maxFutureMs / 1000} seconds in the future`);
    check.done();
    const [customer, meter] = await Promise.all([this.contexts.customer({ id: cmd.customerId, externalId: cmd.externalCustomerId }), this.contexts.meter(meterCode!)]);
    const quantity = checkMeterQuantity(check, 'quantity', cmd.quantity, meter);
    const dimensions = checkDimensions(check, 'dimensions', cmd.dimensions, meter);
    checkDistinctValue(check, 'dimensions', dimensions, meter);
    const values = checkValues(check, 'values', cmd.values);
    check.done();
    const ctx = await this.contexts.resolve(customer, meter, at);
    const hash = requestHash({
      customer: customer.id,
      meter: meter.code,
      quantity,
      timestamp: cmd.timestamp ?? null,
      dimensions: { ...dimensions },
      values: { ...values },
    });
    return { index, key: key!, hash, ctx, at, quantity: quantity!, dimensions, values, eventId: newId(at.getTime()), holdId: newId(), settles: null };
  }

  private failedJob(index: number, cause: Error): UsageJob {
    const err = asUnavailable(cause);
    const error = err instanceof AppError ? err : new AppError(ErrorCode.INTERNAL_SERVER_ERROR, 'the event could not be prepared');
    if (!(err instanceof AppError)) this.logger.error({ err }, 'preparing a usage event failed');
    return { index, outcome: { kind: 'error', error } } as UsageJob;
  }

  /** The same key twice in one request: the second waits for the first's result (or is refused if it differs). */
  private markRepeatedKeys(jobs: UsageJob[]): void {
    const first = new Map<string, UsageJob>();
    for (const j of jobs) {
      if (j.outcome) continue;
      const id = `${j.ctx.customer.id}|${j.key}`;
      const earlier = first.get(id);
      if (!earlier) first.set(id, j);
      else if (earlier.hash !== j.hash) j.outcome = { kind: 'error', error: keyReused(j.key) };
    }
  }

  /** In an atomic batch, the first failure fails all; returns true when there is one. */
  private failAtomic(jobs: UsageJob[]): boolean {
    const failed = jobs.find((j) => j.outcome && j.outcome.kind !== 'accepted');
    if (!failed) return false;
    for (const j of jobs) if (j !== failed) j.outcome = { kind: 'skipped', because: failed.index };
    return true;
  }

  /**
   * Rates jobs in the order the store will apply them: each one sees the period counters as the
   * jobs before it for the same customer and period leave them. Rated against the bare cache
   * instead, a customer's batch would only ever have its first event priced for the right
   * counter value when prices are not whole ledger units per counter unit (every position then
   * prices differently), and would take one round per event.
   */
  private async rateInOrder(jobs: UsageJob[]): Promise<void> {
    const ahead = new Map<string, Decimal>();
    for (const job of jobs) {
      const scope = `${job.ctx.customer.id}|${job.ctx.periodKey}|`;
      await this.rate(job, (name) => ahead.get(scope + name));
      if (job.rating!.refusal) continue;
      const add = (name: string, delta: Decimal) => ahead.set(scope + name, (ahead.get(scope + name) ?? new Decimal(0)).plus(delta));
      for (const line of job.rating!.lines) if (line.counter) add(line.counter.key, line.counter.delta);
      for (const mark of job.rating!.marks) add(mark.key, mark.delta);
      add(CounterCache.meterName(job.ctx.meter.code), job.rating!.meterAdvance.delta);
    }
  }

  private async rate(job: UsageJob, ahead: (name: string) => Decimal | undefined = () => undefined): Promise<void> {
    const { customer, meter, active, ruleSet, periodKey } = job.ctx;
    const lookup = (name: string) => {
      const cached = this.counters.get(customer.id, periodKey, name);
      const more = ahead(name);
      return more === undefined ? cached : (cached ?? new Decimal(0)).plus(more);
    };
    const input: RatingInput = {
      event: { meter: meter.code, quantity: job.quantity, timestamp: job.at, dimensions: job.dimensions, values: job.values },
      customer: { id: customer.id, externalId: customer.externalId, metadata: customer.metadata },
      plan: active ? { code: active.plan.plan.code, version: active.plan.plan.version } : null,
      period: { quantity: lookup(CounterCache.meterName(meter.code)) ?? new Decimal(0), counters: { get: lookup } },
      meter: meterFacts(meter, job.dimensions),
    };
    job.rating = rateEventIfWarm(ruleSet, input) ?? (await rateEvent(ruleSet, input));
  }

  private toReserveEvent(job: UsageJob, now: number): ReserveEvent {
    const rating = job.rating!;
    const byKey = new Map<string, { delta: bigint; from: bigint; to: bigint | null; shared: boolean }>();
    for (const line of rating.lines) {
      const c = line.counter;
      if (!c) continue;
      const prior = byKey.get(c.key);
      if (prior) {
        // Lines sharing a counter in one event: hold only for the exact counter value.
        prior.delta += toCounterUnits(c.delta);
        prior.shared = true;
      } else {
        byKey.set(c.key, { delta: toCounterUnits(c.delta), from: toCounterUnits(c.validFrom), to: c.validTo && toCounterUnits(c.validTo), shared: false });
      }
    }
    const counters: CounterCheck[] = [...byKey].map(([key, c]) => {
      const before = rating.lines.find((l) => l.counter?.key === key)!.counter!.before;
      return c.shared ? { key, delta: c.delta, from: toCounterUnits(before), to: toCounterUnits(before) } : { key, ...c };
    });
    for (const m of rating.marks) counters.push({ key: m.key, delta: toCounterUnits(m.delta), from: toCounterUnits(m.validFrom), to: m.validTo && toCounterUnits(m.validTo) });
    const mq = rating.meterAdvance;
    return {
      idempotencyKey: job.key,
      requestHash: job.hash,
      holdId: job.holdId,
      expiresAt: now + this.config.holdMs,
      kind: 'usage',
      currency: job.ctx.ruleSet.currency,
      amount: rating.units,
      periodKey: job.ctx.periodKey,
      counters,
      meterQuantity: {
        meter: job.ctx.meter.code,
        delta: toCounterUnits(mq.delta),
        from: mq.validFrom && toCounterUnits(mq.validFrom),
        to: mq.validTo && toCounterUnits(mq.validTo),
      },
      settles: job.settles?.holdId ?? null,
    };
  }

  /** Rates and reserves until every job is reserved or has an outcome. */
  private async reserveAll(jobs: UsageJob[], atomic: boolean): Promise<void> {
    const started = Date.now();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const pending = jobs.filter((j) => !j.outcome && !j.reserved);
      if (pending.length === 0) return;
      if (pending.every((j) => j.waiting)) {
        if (Date.now() - started > WAIT_FOR_DUPLICATE_MS) break;
        await sleep(20);
      }
      const rating = performance.now();
      await this.rateInOrder(pending);
      this.stages('rate', rating);
      for (const j of pending) if (j.rating!.refusal) j.outcome = ratingRefusal(j.rating!.refusal);
      if (atomic && jobs.some((j) => j.outcome)) return;
      const groups = new Map<string, UsageJob[]>();
      for (const j of pending) if (!j.outcome) groups.set(j.ctx.customer.id, [...(groups.get(j.ctx.customer.id) ?? []), j]);
      await Promise.all([...groups].map(([customerId, group]) => this.reserveGroup(customerId, group, atomic)));
      if (atomic && jobs.some((j) => j.outcome)) return;
    }
    for (const j of jobs) {
      if (!j.outcome && !j.reserved) j.outcome = { kind: 'error', error: new AppError(ErrorCode.CONFLICT, 'the event could not be reserved against concurrent changes; retry it') };
    }
  }

  private async reserveGroup(customerId: string, group: UsageJob[], atomic: boolean): Promise<void> {
    const now = Date.now();
    let reply;
    const reserving = performance.now();
    try {
      reply = await this.store.reserve(customerId, now, group.map((j) => this.toReserveEvent(j, now)), atomic);
      this.stages('reserve', reserving);
    } catch (err) {
      for (const j of group) j.outcome = { kind: 'error', error: asAppError(err) };
      return;
    }
    if (reply.kind === 'LOAD') return this.accounts.ensureLoaded(customerId);
    if (reply.kind === 'PERIOD') return this.accounts.ensurePeriods(customerId, reply.periods);
    await Promise.all(reply.results.map((r, i) => this.onReserved(group[i]!, r)));
  }

  private async onReserved(job: UsageJob, r: ReserveResult): Promise<void> {
    const { customer, periodKey, meter } = job.ctx;
    job.waiting = false;
    switch (r.status) {
      case 'OK':
      case 'RERATE':
        for (const [name, units] of r.counters) this.counters.set(customer.id, periodKey, name, units);
        if (r.meterQuantity !== null) this.counters.set(customer.id, periodKey, CounterCache.meterName(meter.code), r.meterQuantity);
        if (r.status === 'OK') job.reserved = r;
        return;
      case 'FUNDS':
        job.outcome = { kind: 'refused', code: 'WALLET_INSUFFICIENT_FUNDS', message: 'the wallet does not hold enough funds for this event', details: { available: formatLedgerUnits(r.available) } };
        return;
      case 'CAP':
        job.outcome = { kind: 'refused', code: 'SPENDING_LIMIT_REACHED', message: "the customer's spending cap for this period is reached", details: { spent: formatLedgerUnits(r.spent), cap: formatLedgerUnits(r.cap) } };
        return;
      case 'DUP':
        job.outcome = await this.replay(job);
        return;
      case 'PENDING':
        job.waiting = true;
        return;
      case 'REUSED':
        job.outcome = { kind: 'error', error: keyReused(job.key) };
        return;
      case 'HOLD_GONE':
        job.outcome = { kind: 'error', error: reservationClosed() };
        return;
      case 'SKIP':
        return;
    }
  }

  /**
   * A refusal may be a retry of an event accepted before the store lost its memory of the key
   * (a flush or failover): the wallet is now spent by that very event. PostgreSQL remembers every
   * key, so refused events are looked up there before the refusal is answered.
   */
  private async replayRefusedDuplicates(jobs: UsageJob[]): Promise<void> {
    const refused = jobs.filter((j) => j.outcome?.kind === 'refused');
    if (refused.length === 0) return;
    const found = await this.repo.findByKeys(refused.map((j) => ({ customerId: j.ctx.customer.id, key: j.key })));
    for (const j of refused) {
      const event = found.get(`${j.ctx.customer.id}|${j.key}`);
      if (!event) continue;
      j.outcome = event.requestHash === j.hash ? { kind: 'accepted', event, replay: true } : { kind: 'error', error: keyReused(j.key) };
    }
  }

  /** The stored result of an event already committed under this key: every retry gets the same reply. */
  private async replay(job: UsageJob): Promise<UsageOutcome> {
    const event = await this.repo.findByKey(job.ctx.customer.id, job.key);
    if (!event) return { kind: 'error', error: new AppError(ErrorCode.CONFLICT, 'this idempotency key is being processed; retry shortly') };
    if (event.requestHash !== job.hash) return { kind: 'error', error: keyReused(job.key) };
    return { kind: 'accepted', event, replay: true };
  }

  private toRecord(job: UsageJob, now: Date): UsageEventRecord {
    const rating = job.rating!;
    const r = job.reserved!;
    return {
      id: job.eventId,
      customerId: job.ctx.customer.id,
      idempotencyKey: job.key,
      requestHash: job.hash,
      meterId: job.ctx.meter.id,
      meterCode: job.ctx.meter.code,
      quantity: formatDecimal(job.quantity),
      occurredAt: job.at,
      dimensions: { ...job.dimensions },
      values: Object.fromEntries(Object.entries(job.values).map(([k, v]) => [k, formatDecimal(v)])),
      periodStart: job.ctx.period.start,
      currency: job.ctx.ruleSet.currency,
      walletId: r.walletId,
      amount: formatDecimal(rating.amount),
      charged: rating.units,
      ruleSetKey: rating.ruleSet.key,
      ruleSetVersion: rating.ruleSet.version,
      ruleSetHash: rating.ruleSet.hash,
      firedRules: rating.firedRules,
      lines: storedLines(rating),
      allocations: [],
      usageBatchId: '',
      softLimitExceeded: r.softLimitExceeded,
      balanceAfter: null,
      availableAfter: r.available,
      reservationId: job.settles?.reservationId ?? null,
      createdAt: now,
    };
  }

  /** Makes reserved events durable (one bundle per request), then posts their holds. */
  private async commitAll(jobs: UsageJob[], atomic: boolean): Promise<void> {
    const reserved = jobs.filter((j) => j.reserved && !j.outcome);
    if (reserved.length === 0) return;
    const now = this.clock.now();
    const bundle: CommitBundle = {
      atomic,
      events: reserved.map((j) => ({
        event: this.toRecord(j, now),
        allocations: j.reserved!.allocations,
        settles: j.settles?.reservationId ?? null,
        post: this.postItem(j, j.eventId),
      })),
    };
    let committed: Committed;
    const submitted = performance.now();
    try {
      committed = await this.committer.submit(bundle);
      this.stages('commit_wait', submitted);
    } catch (err) {
      await this.releaseHolds(reserved);
      for (const j of reserved) j.outcome = { kind: 'error', error: notCommitted(err) };
      return;
    }
    const toRelease: UsageJob[] = [];
    await Promise.all(
      reserved.map(async (j, i) => {
        const o = committed.outcomes[i]!;
        if (o.kind === 'committed') {
          j.outcome = { kind: 'accepted', event: o.event, replay: false };
        } else if (o.kind === 'duplicate') {
          toRelease.push(j);
          j.outcome = await this.replay(j);
        } else {
          toRelease.push(j);
          const error = o.error instanceof AppError ? o.error : notCommitted(o.error);
          j.outcome = error.code === ErrorCode.WALLET_INSUFFICIENT_FUNDS || error.code === ErrorCode.SPENDING_LIMIT_REACHED ? await this.refusedByDatabase(j, error) : { kind: 'error', error };
          if (!(o.error instanceof AppError)) this.logger.error({ err: o.error }, 'committing a usage event failed');
        }
      }),
    );
    await Promise.all([this.releaseHolds(toRelease), committed.posted]);
  }

  /**
   * PostgreSQL refused what the store had let through (a wallet floor or a spending cap): the
   * store's state is behind the record. The refusal carries PostgreSQL's figures, and the
   * customer's store state is dropped so that the next event rebuilds it.
   */
  private async refusedByDatabase(job: UsageJob, error: AppError): Promise<UsageOutcome> {
    const customerId = job.ctx.customer.id;
    this.logger.warn({ customerId, code: error.code }, 'PostgreSQL refused an event the reservation store accepted; rebuilding its state');
    await this.accounts.distrust(customerId);
    if (error.code === ErrorCode.WALLET_INSUFFICIENT_FUNDS) {
      const available = job.reserved?.walletId ? await this.accounts.accounts.availableOf(job.reserved.walletId, this.clock.now()) : null;
      return { kind: 'refused', code: 'WALLET_INSUFFICIENT_FUNDS', message: error.message, details: available === null ? {} : { available: formatLedgerUnits(available) } };
    }
    const spend = await this.accounts.accounts.postpaidSpend(customerId, job.ctx.period.start, job.ctx.ruleSet.currency);
    return { kind: 'refused', code: 'SPENDING_LIMIT_REACHED', message: error.message, details: spend ? { spent: formatLedgerUnits(spend.spent), cap: formatLedgerUnits(spend.cap) } : {} };
  }

  private postItem(j: UsageJob, ref: string): PostItem {
    const e = this.toReserveEvent(j, 0);
    return {
      holdId: j.holdId,
      idempotencyKey: j.key,
      requestHash: j.hash,
      ref,
      keep: false,
      hold: null,
      allocations: j.reserved!.allocations,
      periodKey: j.ctx.periodKey,
      counters: e.counters.map((c) => [c.key, c.delta]),
      meterQuantity: e.meterQuantity && [e.meterQuantity.meter, e.meterQuantity.delta],
      currency: e.currency,
      amount: e.amount,
      postpaid: j.reserved!.walletId === null,
      walletId: j.reserved!.walletId,
    };
  }

  /** Gives back the holds of events that will not be committed; the sweep retries what fails here. */
  async releaseHolds(jobs: UsageJob[]): Promise<void> {
    const byCustomer = new Map<string, string[]>();
    for (const j of jobs) if (j.reserved) byCustomer.set(j.ctx.customer.id, [...(byCustomer.get(j.ctx.customer.id) ?? []), j.holdId]);
    await Promise.all(
      [...byCustomer].map(([customerId, holds]) =>
        this.store.release(customerId, holds, true).catch((err) => this.logger.warn({ customerId, err: (err as Error).message }, 'releasing holds failed; the sweep will')),
      ),
    );
    for (const j of jobs) j.reserved = undefined;
  }

  /** Waits for queued commits (shutdown). */
  drain(): Promise<void> {
    return this.committer.drain();
  }
}

/** Records how long a stage took since `started` (performance.now()); see Metrics.usageStages. */
export type StageTimer = (stage: 'prepare' | 'rate' | 'reserve' | 'commit_wait' | 'commit' | 'post' | 'request', started: number) => void;
const noStages: StageTimer = () => undefined;

export const keyReused = (key: string): AppError =>
  new AppError(ErrorCode.IDEMPOTENCY_KEY_REUSED, `idempotency key ${JSON.stringify(key)} was already used for a different event`, { key });

export const reservationClosed = (): AppError =>
  new AppError(ErrorCode.RESERVATION_CLOSED, 'the reservation has expired, or was settled or released');

function asAppError(err: unknown): AppError {
  return err instanceof AppError ? err : new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'the reservation store is unavailable; nothing was charged; retry');
}

