import type { Config } from '../../config/config.js';
import { costRatingInput, rateCost, rateCostIfWarm, type EventCost } from '../../rating/cost-book.js';
import { rateEvent, rateEventIfWarm } from '../../rating/rate-event.js';
import type { RatingInput } from '../../rating/types.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode, ValidationError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import { Tracing, type SpanContext, type TraceContext } from '../../shared/tracing.js';
import { Decimal } from '../../shared/money/decimal.js';
import { asUnavailable } from '../../db/sql.js';
import type { AccountStateService, ReservationStore, ReserveResult, WalletFigures, ReservationRepository } from '../reservations/index.js';
import { CounterCache } from './counter.cache.js';
import { meterFacts, ratingRefusal } from './usage-rating.pure.js';
import { GroupCommitter } from './group-commit.worker.js';
import type { UsageEventRecord } from './usage-event.record.js';
import type { UsageContextCache } from './usage-context.cache.js';
import type { UsageJob } from './usage-job.pure.js';
import { UsagePreparer, type AuthorizeUsageCommand, type RecordUsageCommand } from './usage-prepare.service.js';
import { toEventRecord, toReservation } from './usage-records.pure.js';
import { capRefused, fundsRefused, suspendedRefused, keyInProgress, keyPastRetention, keyReused, reservationClosed, storeUnavailable, type UsageOutcome } from './usage-outcomes.pure.js';
import { postItem, toReserveEvent } from './reserve-events.pure.js';
import { notCommitted, type UsageRepository, type CommitBundle, type CommitOutcome, type CustomerNotice } from './usage.repository.js';

/**
 * New usage and authorizations of a suspended customer are refused before anything is reserved
 * (fail closed). The flag comes with the customer the context cache already resolved; a
 * suspension reaches every instance's cache at once through a notice on the live bus, and within
 * the cache's freshness (UsageContextCache, seconds) should a notice be lost. Settling an
 * authorization made before the suspension is not new usage, and is let through.
 */
function refuseSuspended(job: UsageJob): UsageJob {
  if (!job.outcome && job.ctx.customer.suspendedAt) job.outcome = suspendedRefused(job.ctx.customer);
  return job;
}

/** Told when an authorization holds money or a hold is given back (live updates, alerts on available balance). */
export type HoldListener = (customerId: string, walletId: string | null, change: 'HOLD' | 'RELEASE') => void;

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
  /** The group it was committed in: requests, events, and its span when traced. */
  group: { requests: number; events: number; span: SpanContext | undefined };
}

/** One request's events as submitted to the group commit, with where the request sits in its trace. */
type Submitted = CommitBundle & { caller?: TraceContext };

const MAX_ROUNDS = 50;
const WAIT_FOR_DUPLICATE_MS = 5_000;
export const MAX_BATCH = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The usage pipeline, one for every entry point (recordUsage, recordUsageBatch, authorizeUsage,
 * settleReservation, POST /v1/events): validate → resolve → rate → reserve → commit → post →
 * publish. Each event is rated by the pure core, reserved atomically in the store (one call per
 * customer and round), made durable in PostgreSQL (usage events by group commit; an
 * authorization as its reservation row), then its hold is posted and the change published.
 * Nothing is charged twice: the store remembers idempotency keys, and PostgreSQL's unique
 * (customer, key) settles any race the store cannot see (after losing its state).
 */
export class UsageService {
  private readonly repo: UsageRepository;
  private readonly reservations: ReservationRepository;
  private readonly committer: GroupCommitter<Submitted, Committed>;
  private readonly listeners: Array<(committed: UsageCommitted) => void> = [];
  private readonly holdListeners: HoldListener[] = [];
  private readonly counters = new CounterCache();
  private readonly preparer: UsagePreparer;

  constructor(
    private readonly contexts: UsageContextCache,
    private readonly store: ReservationStore,
    private readonly accounts: AccountStateService,
    /** Usage events commit on the group-commit pool; authorizations are reservation rows. */
    repos: { usage: UsageRepository; reservations: ReservationRepository },
    private readonly config: Config['usage'],
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly stages: StageTimer = noStages,
    private readonly metrics: Metrics | null = null,
    private readonly tracing: Tracing = Tracing.off,
  ) {
    this.preparer = new UsagePreparer(contexts, config);
    this.repo = repos.usage;
    this.reservations = repos.reservations;
    this.committer = new GroupCommitter(
      async (bundles) => {
        const started = performance.now();
        const events = bundles.reduce((n, b) => n + b.events.length, 0);
        this.metrics?.commitGroupRequests.observe(bundles.length);
        this.metrics?.commitGroupEvents.observe(events);
        // The group serves many requests: its span starts a trace of its own, linked to theirs.
        const traced = (error?: unknown) =>
          this.tracing.enabled ? this.tracing.record('usage.group_commit', started, { 'billing.commit.requests': bundles.length, 'billing.commit.events': events }, { links: callerLinks(this.tracing, bundles), error }) : undefined;
        let committed;
        try {
          committed = await this.repo.commitBundles(bundles, this.clock.now());
        } catch (err) {
          traced(err);
          throw err;
        }
        this.stages('commit', started);
        const group = { requests: bundles.length, events, span: traced() };
        // The lane is free for the next commit while the holds are posted.
        const posted = this.afterCommit(bundles, committed.outcomes, committed.notices);
        return committed.outcomes.map((o) => ({ outcomes: o, posted, group }));
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

  /** Registers a listener for authorizations that now hold money. */
  onHeld(listener: HoldListener): void {
    this.holdListeners.push(listener);
  }

  get repository(): UsageRepository {
    return this.repo;
  }

  // ── entry points ──────────────────────────────────────────────────────────────────────────

  /** Records events. With atomic, either all are charged or none is and the first failure says why. */
  async record(commands: RecordUsageCommand[], atomic: boolean): Promise<UsageOutcome[]> {
    return this.recordPrepared(commands, atomic, (c, i, now) => this.preparer.prepare(c, i, now));
  }

  /** Records CloudEvents (POST /v1/events; see cloud-events.pure.ts): the same pipeline, problems named by the CloudEvent's paths. */
  async recordCloudEvents(events: unknown[], atomic: boolean): Promise<UsageOutcome[]> {
    return this.recordPrepared(events, atomic, (raw, i, now) => this.preparer.prepareCloudEvent(raw, i, now));
  }

  private async recordPrepared<C>(commands: C[], atomic: boolean, prepare: (command: C, index: number, now: Date) => Promise<UsageJob>): Promise<UsageOutcome[]> {
    if (commands.length > MAX_BATCH) throw new ValidationError([{ path: 'events', message: `at most ${MAX_BATCH} events per batch` }]);
    const started = performance.now();
    const now = this.clock.now();
    const prepared = await Promise.all(commands.map((c, i) => prepare(c, i, now).catch((err: unknown) => err)));
    const jobs: UsageJob[] = prepared.map((p, i) => (p instanceof Error ? this.failedJob(i, p) : refuseSuspended(p as UsageJob)));
    this.stage('prepare', started, { 'billing.usage.events': commands.length });
    this.markRepeatedKeys(jobs);
    const outcomes = await this.run(jobs, atomic);
    this.stages('request', started);
    return outcomes;
  }

  /**
   * Holds an estimate for long work: the event is rated as recordUsage would (what the rules
   * refuse, or no charge prices, cannot be authorised), its estimate or the given amount is held,
   * and the reservation is stored. Bad input throws; refusals are outcomes.
   */
  async authorize(cmd: AuthorizeUsageCommand): Promise<UsageOutcome> {
    const started = performance.now();
    const job = refuseSuspended(await this.preparer.prepareAuthorization(cmd, this.clock.now()));
    this.stage('prepare', started, { 'billing.usage.events': 1 });
    const [outcome] = await this.run([job], false);
    this.stages('request', started);
    return outcome!;
  }

  /** Validates a usage command and resolves its context (settleReservation prepares its event here). */
  prepare(cmd: RecordUsageCommand, index: number, now: Date): Promise<UsageJob> {
    return this.preparer.prepare(cmd, index, now);
  }

  /** Runs prepared jobs through reservation and commit (also used to settle reservations). */
  async run(jobs: UsageJob[], atomic: boolean): Promise<UsageOutcome[]> {
    const outcomes = await this.runJobs(jobs, atomic);
    if (this.metrics) countOutcomes(this.metrics, outcomes);
    return outcomes;
  }

  private async runJobs(jobs: UsageJob[], atomic: boolean): Promise<UsageOutcome[]> {
    if (atomic && this.failAtomic(jobs)) return jobs.map((j) => j.outcome!);
    await this.reserveAll(jobs, atomic);
    await this.replayRefusedDuplicates(jobs);
    if (atomic && this.failAtomic(jobs)) {
      await this.releaseHolds(jobs.filter((j) => j.reserved));
      return jobs.map((j) => j.outcome!);
    }
    await Promise.all([this.commitAll(jobs.filter((j) => j.kind === 'usage'), atomic), ...jobs.filter((j) => j.kind === 'authorization').map((j) => this.commitAuthorization(j))]);
    return jobs.map((j) => j.outcome ?? { kind: 'error', error: new AppError(ErrorCode.INTERNAL_SERVER_ERROR, 'the event was not processed') });
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

  // ── rate ──────────────────────────────────────────────────────────────────────────────────

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
      if (job.rating!.refusal || job.kind === 'authorization') continue;
      const add = (name: string, delta: Decimal) => ahead.set(scope + name, (ahead.get(scope + name) ?? new Decimal(0)).plus(delta));
      for (const line of job.rating!.lines) if (line.counter) add(line.counter.key, line.counter.delta);
      for (const mark of job.rating!.marks) add(mark.key, mark.delta);
      add(CounterCache.meterName(job.ctx.meter.code), job.rating!.meterAdvance.delta);
    }
  }

  /**
   * Rates one job. An authorization is an estimate priced from the start of the period's
   * counters: it moves none, and the settle prices the actual usage where the counters then are.
   */
  private async rate(job: UsageJob, ahead: (name: string) => Decimal | undefined = () => undefined): Promise<void> {
    const { customer, meter, active, ruleSet, periodKey, period } = job.ctx;
    const lookup = (name: string) => {
      if (job.kind === 'authorization') return undefined;
      const cached = this.counters.get(customer.id, periodKey, name);
      const more = ahead(name);
      return more === undefined ? cached : (cached ?? new Decimal(0)).plus(more);
    };
    const input: RatingInput = {
      event: { meter: meter.code, quantity: job.quantity, timestamp: job.at, dimensions: job.dimensions, values: job.values },
      customer: { id: customer.id, externalId: customer.externalId, metadata: customer.metadata },
      plan: active ? { code: active.plan.plan.code, version: active.plan.plan.version } : null,
      period: { quantity: lookup(CounterCache.meterName(meter.code)) ?? new Decimal(0), counters: { get: lookup }, start: period.start, end: period.end },
      meter: meterFacts(meter, job.dimensions),
    };
    job.rating = rateEventIfWarm(ruleSet, input) ?? (await rateEvent(ruleSet, input));
    if (job.kind === 'usage' && job.cost === undefined && !job.rating.refusal) {
      const cost = this.costOf(job, input);
      job.cost = cost instanceof Promise ? await cost : cost;
    }
  }

  /**
   * What serving an event cost, rated once per event beside its price: by the cost books in
   * force (each event alone, no period state), or the provider cost it carries. A cost book that
   * fails leaves the cost unknown; it never refuses the event. Synchronous while the cost books'
   * rule selections are memoised, as prices are.
   */
  private costOf(job: UsageJob, input: RatingInput): EventCost | null | Promise<EventCost | null> {
    const facts = costRatingInput(input);
    const { costBooks, ruleSet } = job.ctx;
    try {
      const warm = rateCostIfWarm(costBooks, facts, ruleSet.currency);
      if (warm !== undefined) return warm;
    } catch (err) {
      return this.costFailed(job, err);
    }
    return rateCost(costBooks, facts, ruleSet.currency).catch((err: unknown) => this.costFailed(job, err));
  }

  private costFailed(job: UsageJob, err: unknown): null {
    this.logger.warn({ err: (err as Error).message, meter: job.ctx.meter.code }, "rating an event's cost failed; its cost is unknown");
    return null;
  }

  // ── reserve ───────────────────────────────────────────────────────────────────────────────

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
      this.stage('rate', rating, { 'billing.usage.events': pending.length, 'billing.usage.round': round });
      for (const j of pending) if (j.rating!.refusal) j.outcome = ratingRefusal(j.rating!.refusal);
      if (atomic && jobs.some((j) => j.outcome)) return;
      const groups = new Map<string, UsageJob[]>();
      for (const j of pending) {
        if (j.outcome) continue;
        const group = groups.get(j.ctx.customer.id);
        if (group) group.push(j);
        else groups.set(j.ctx.customer.id, [j]);
      }
      await Promise.all([...groups].map(([customerId, group]) => this.reserveGroup(customerId, group, atomic)));
      if (atomic && jobs.some((j) => j.outcome)) return;
    }
    for (const j of jobs) {
      if (!j.outcome && !j.reserved) {
        j.outcome = { kind: 'error', error: j.waiting ? keyInProgress() : new AppError(ErrorCode.CONFLICT, 'the event could not be reserved against concurrent changes; retry it') };
      }
    }
  }

  private async reserveGroup(customerId: string, group: UsageJob[], atomic: boolean): Promise<void> {
    // A usage hold lives for seconds of real time; an authorization's lifetime is billing time
    // (its expiry, which the sweep and settle read on the service's clock).
    const now = group.some((j) => j.kind === 'authorization') ? this.clock.now().getTime() : Date.now();
    let reply;
    const reserving = performance.now();
    const attributes = { 'billing.store.kind': this.store.kind, 'billing.usage.events': group.length };
    try {
      reply = await this.store.reserve(customerId, now, group.map((j) => toReserveEvent(j, now, this.config.holdMs)), atomic);
      this.stage('reserve', reserving, { ...attributes, 'billing.store.reply': reply.kind });
    } catch (err) {
      this.tracing.record('usage.reserve', reserving, attributes, { error: err });
      for (const j of group) j.outcome = { kind: 'error', error: storeUnavailable(err) };
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
        job.outcome = fundsRefused(r.available, job.kind === 'authorization' ? 'this estimate' : 'this event');
        return;
      case 'CAP':
        job.outcome = capRefused(r);
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
    const usage = refused.filter((j) => j.kind === 'usage');
    const found = usage.length ? await this.repo.findByKeys(usage.map((j) => ({ customerId: j.ctx.customer.id, key: j.key }))) : new Map<string, UsageEventRecord>();
    for (const j of usage) {
      const event = found.get(`${j.ctx.customer.id}|${j.key}`);
      if (!event) continue;
      j.outcome = event.requestHash === j.hash ? { kind: 'accepted', event, replay: true } : { kind: 'error', error: keyReused(j.key) };
    }
    for (const j of refused.filter((r) => r.kind === 'authorization')) {
      const reservation = await this.reservations.findByKey(j.ctx.customer.id, j.key);
      if (reservation) j.outcome = reservation.requestHash === j.hash ? { kind: 'authorized', reservation, replay: true } : { kind: 'error', error: keyReused(j.key) };
    }
  }

  /** The stored result of what was already committed under this key: every retry gets the same reply. */
  private async replay(job: UsageJob): Promise<UsageOutcome> {
    if (job.kind === 'authorization') {
      const reservation = await this.reservations.findByKey(job.ctx.customer.id, job.key);
      if (!reservation) return { kind: 'error', error: keyInProgress() };
      if (reservation.requestHash !== job.hash) return { kind: 'error', error: keyReused(job.key) };
      return { kind: 'authorized', reservation, replay: true };
    }
    let event = await this.repo.findByKey(job.ctx.customer.id, job.key);
    if (!event) {
      // A key recorded without its event: committed just now (read again), or retention has
      // dropped the event, and the key is still refused.
      const recorded = await this.repo.keyRecorded(job.ctx.customer.id, job.key);
      event = recorded && (await this.repo.findByKey(job.ctx.customer.id, job.key));
      if (!event) return { kind: 'error', error: recorded ? keyPastRetention(job.key, recorded.occurredAt) : keyInProgress() };
    }
    if (event.requestHash !== job.hash) return { kind: 'error', error: keyReused(job.key) };
    return { kind: 'accepted', event, replay: true };
  }

  // ── commit, post, publish ─────────────────────────────────────────────────────────────────

  /** Makes reserved usage events durable (one bundle per request), then posts their holds. */
  private async commitAll(jobs: UsageJob[], atomic: boolean): Promise<void> {
    const reserved = jobs.filter((j) => j.reserved && !j.outcome);
    if (reserved.length === 0) return;
    const now = this.clock.now();
    const bundle: CommitBundle = {
      atomic,
      events: reserved.map((j) => ({
        event: toEventRecord(j, now),
        allocations: j.reserved!.allocations,
        settles: j.settles?.reservationId ?? null,
        post: postItem(j),
      })),
    };
    let committed: Committed;
    const submitted = performance.now();
    try {
      committed = await this.committer.submit(this.tracing.enabled ? { ...bundle, caller: this.tracing.capture() } : bundle);
      const { group } = committed;
      this.stage('commit_wait', submitted, { 'billing.usage.events': reserved.length, 'billing.commit.group_requests': group.requests, 'billing.commit.group_events': group.events }, group.span);
    } catch (err) {
      this.tracing.record('usage.commit', submitted, { 'billing.usage.events': reserved.length }, { error: err });
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

  /** Stores a reserved authorization, keeps its hold, and tells the hold listeners. */
  private async commitAuthorization(job: UsageJob): Promise<void> {
    if (!job.reserved || job.outcome) return;
    const reservation = toReservation(job);
    let version: bigint | null;
    const committing = performance.now();
    try {
      version = await this.reservations.insert(reservation);
      this.stage('commit', committing, { 'billing.usage.events': 1, 'billing.commit.kind': 'authorization' });
    } catch (err) {
      this.tracing.record('usage.commit', committing, { 'billing.commit.kind': 'authorization' }, { error: err });
      await this.releaseHolds([job]);
      job.outcome = { kind: 'error', error: notCommitted(asUnavailable(err)) };
      return;
    }
    if (version === null) {
      await this.releaseHolds([job]);
      job.outcome = await this.replay(job);
      return;
    }
    job.outcome = { kind: 'authorized', reservation, replay: false };
    const posting = performance.now();
    await this.store.post(reservation.customerId, version, [postItem(job)], this.clock.now().getTime()).catch((err: unknown) => {
      this.logger.warn({ customerId: reservation.customerId, err: (err as Error).message }, 'keeping an authorization hold failed; the sweep will');
    });
    this.stage('post', posting, { 'billing.store.kind': this.store.kind });
    for (const listener of this.holdListeners) listener(reservation.customerId, reservation.walletId, 'HOLD');
  }

  /** Posts the holds of a group commit's events, one store call per customer, then tells the listeners. */
  private async afterCommit(bundles: Submitted[], outcomes: CommitOutcome[][], notices: CustomerNotice[]): Promise<void> {
    const posts = new Map<string, { version: bigint; items: CommitBundle['events'][number]['post'][] }>();
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
    this.forEachCaller(bundles, 'usage.post', posting, { 'billing.store.kind': this.store.kind, 'billing.store.customers': posts.size });
    if (events.length === 0 && notices.length === 0) return;
    const publishing = performance.now();
    for (const listener of this.listeners) {
      try {
        listener({ notices, events, wallets });
      } catch (err) {
        this.logger.error({ err }, 'a usage commit listener failed');
      }
    }
    this.forEachCaller(bundles, 'usage.publish', publishing, { 'billing.usage.events': events.length });
  }

  /** A stage of one request: its metric, and its span under the request's active span (linked to `link`). */
  private stage(stage: Parameters<StageTimer>[0], started: number, attributes: Record<string, string | number>, link?: SpanContext): void {
    this.stages(stage, started);
    if (this.tracing.enabled) this.tracing.record(`usage.${stage === 'commit_wait' ? 'commit' : stage}`, started, attributes, link ? { links: [{ context: link }] } : {});
  }

  /** Work done once for a whole group, recorded in the trace of each request of the group. */
  private forEachCaller(bundles: Submitted[], name: string, started: number, attributes: Record<string, string | number>): void {
    if (!this.tracing.enabled) return;
    const ended = performance.now();
    for (const b of bundles) if (this.tracing.sampled(b.caller)) this.tracing.record(name, started, attributes, { parent: b.caller, ended });
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
      return { ...fundsRefused(available), message: error.message };
    }
    const spend = await this.accounts.accounts.postpaidSpend(customerId, job.ctx.period.start, job.ctx.ruleSet.currency);
    return { ...capRefused(spend), message: error.message };
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

/** The requests of a group commit, as links from its span (sampled ones only). */
function callerLinks(tracing: Tracing, bundles: Submitted[]): Array<{ context: SpanContext }> {
  const links: Array<{ context: SpanContext }> = [];
  for (const b of bundles) {
    const context = tracing.sampled(b.caller);
    if (context) links.push({ context });
  }
  return links;
}

/** Counts outcomes in billing_usage_events_total, one increment per distinct outcome and code. */
function countOutcomes(metrics: Metrics, outcomes: UsageOutcome[]): void {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const key =
      o.kind === 'refused' ? `refused|${o.code}` : o.kind === 'error' ? `error|${o.error.code}` : (o.kind === 'accepted' || o.kind === 'authorized') && o.replay ? 'replayed|' : `${o.kind}|`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, n] of counts) {
    const [outcome, code] = key.split('|') as [string, string];
    metrics.usageEvents.inc(code ? { outcome, code } : { outcome }, n);
  }
}

/** Records how long a stage took since `started` (performance.now()); see Metrics.usageStages. */
export type StageTimer = (stage: 'prepare' | 'rate' | 'reserve' | 'commit_wait' | 'commit' | 'post' | 'request', started: number) => void;
const noStages: StageTimer = () => undefined;
