import type { InvoiceConfig } from '../../config/config.js';
import type { SqlClient } from '../../db/sql.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode, notFound, ValidationError } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { Decimal } from '../../shared/money/decimal.js';
import { Checker } from '../../shared/validation.js';
import type { CurrencyService } from '../currencies/index.js';
import type { Customer, CustomerService } from '../customers/index.js';
import type { PlanService } from '../plans/index.js';
import type { Period } from '../subscriptions/index.js';
import type { TaxRateService } from '../taxes/index.js';
import { baseFeeItems } from './base-fees.pure.js';
import { BillingTimeline } from './billing-timeline.pure.js';
import { projectSpend } from '../usage-reports/index.js';
import { billedKey, composeLines, invoiceTotals, roundMoney, type ComposedLine, type ComposeOptions } from './invoice-compose.pure.js';
import { buyerSnapshot, dueDate } from './invoice-document.pure.js';
import { InvoiceKind, InvoicePaymentStatus, InvoiceStatus, LineKind, type BillingItem, type InvoiceRecord, type TaxRateSnapshot } from './invoice.record.js';
import type { InvoiceRepository } from './invoice.repository.js';
import { PeriodUsageRepository, type PeriodUsage } from './period-usage.repository.js';
import { prepaidItems } from './prepaid-items.pure.js';
import { usageItems, type MeterLevels, type RuleSetLookup } from './usage-items.pure.js';
import { invoiceEvent, type InvoiceTopic } from './invoice-events.pure.js';
import { emitWebhook, WebhookTopic } from '../webhooks/index.js';
import { testClockNumbering } from '../test-clocks/index.js';

/** One customer's close, as the scheduled close ran it (for metrics). */
export interface CustomerClosed {
  ok: boolean;
  seconds: number;
  finalized: number;
  /** Committed usage events of the periods whose invoices it finalized. */
  events: number;
}

export interface CloseReport {
  customers: number;
  drafted: number;
  finalized: string[];
  failed: number;
}

/** An invoice as computed, before it is stored. */
interface Computed {
  lines: ComposedLine[];
  totals: ReturnType<typeof invoiceTotals>;
  ruleSets: InvoiceRecord['ruleSets'];
  usageSeen: Record<string, number>;
  options: ComposeOptions;
}

interface CustomerScope {
  customer: Customer;
  timeline: BillingTimeline;
  taxRate: TaxRateSnapshot | null;
  options: ComposeOptions;
}

/**
 * Closes billing periods into invoices. Each customer is closed in one transaction under an
 * advisory lock, so concurrent runs (the scheduler on every instance, the CLI) and reruns after a
 * crash neither duplicate nor skip an invoice; the unique index on (customer, kind, period) is
 * the backstop.
 */
export class InvoiceService {
  readonly repo: InvoiceRepository;
  private readonly usage = new PeriodUsageRepository();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** Per customer: when something next falls due, and the subscription change it knew then. */
  private readonly schedule = new Map<string, { nextDue: number; changedAt: number }>();
  private readonly closedListeners: Array<(closed: CustomerClosed) => void> = [];
  /** Payment providers that collect by themselves: their customers' invoices are due for a first attempt once finalized. */
  private collecting: ReadonlySet<string> = new Set();

  constructor(
    repo: InvoiceRepository,
    private readonly customers: CustomerService,
    private readonly plans: PlanService,
    private readonly rules: RuleSetLookup,
    private readonly currencies: CurrencyService,
    private readonly taxes: TaxRateService,
    private readonly clock: Clock,
    private readonly config: InvoiceConfig,
    private readonly logger: Logger,
    /** Reads for callers (invoices, upcomingInvoice) go through a pool apart from the close's. */
    private readonly reads: InvoiceRepository = repo,
  ) {
    this.repo = repo;
  }

  /**
   * Names the payment providers that collect by themselves (the payments module's, handed over
   * by the composition root): an invoice finalized for a customer of one of them is due for its
   * first payment attempt at once. MANUAL customers' invoices wait for the integrator's report.
   */
  collectWith(providers: readonly string[]): void {
    this.collecting = new Set(providers);
  }

  /** Registers a listener for each customer closeDue closes (metrics). */
  onCustomerClosed(listener: (closed: CustomerClosed) => void): void {
    this.closedListeners.push(listener);
  }

  /** Closes due periods every closeIntervalMs (0: never). */
  start(): void {
    if (this.config.closeIntervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.running = this.closeDue().catch((err) => this.logger.error({ err }, 'closing billing periods failed'));
    }, this.config.closeIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Closes every period that ended by `at` (now by default), for every customer. */
  async closeDue(at: Date = this.clock.now()): Promise<CloseReport> {
    // Closing "as of" a future instant would finalize periods whose usage is still to come.
    if (at.getTime() > this.clock.now().getTime()) throw new ValidationError([{ path: 'at', message: 'must not be in the future' }]);
    const report: CloseReport = { customers: 0, drafted: 0, finalized: [], failed: 0 };
    // A customer is looked at when something may be due: never seen by this instance, its next
    // period end or grace end reached, a subscription changed since, or a draft to keep current.
    const candidates = await this.repo.customersToClose(at);
    const changed = new Map(candidates.map((c) => [c.customerId, c.changedAt.getTime()]));
    const customers = candidates
      .filter((c) => {
        const known = this.schedule.get(c.customerId);
        return !known || c.hasDraft || known.nextDue <= at.getTime() || c.changedAt.getTime() > known.changedAt;
      })
      .map((c) => c.customerId);
    let next = 0;
    // Customers close independently, each in its own transaction: a few at once keep the
    // database's cores busy.
    const lane = async () => {
      while (next < customers.length) {
        const customerId = customers[next++]!;
        report.customers++;
        const started = performance.now();
        const closed = (r: { finalized: string[]; events: number } | null) => {
          const c: CustomerClosed = { ok: r !== null, seconds: (performance.now() - started) / 1000, finalized: r?.finalized.length ?? 0, events: r?.events ?? 0 };
          for (const listener of this.closedListeners) listener(c);
        };
        try {
          const r = await this.closeCustomer(customerId, at);
          report.drafted += r.drafted;
          report.finalized.push(...r.finalized);
          this.schedule.set(customerId, { nextDue: r.nextDue, changedAt: changed.get(customerId) ?? 0 });
          closed(r);
        } catch (err) {
          report.failed++;
          this.logger.error({ err, customerId }, 'closing a customer failed; the next run retries');
          closed(null);
        }
      }
    };
    await Promise.all(Array.from({ length: this.config.closeConcurrency }, lane));
    return report;
  }

  /** Opening invoices, drafts of ended periods, and finalization of drafts past their grace. */
  async closeCustomer(customerId: string, at: Date): Promise<{ drafted: number; finalized: string[]; nextDue: number; events: number }> {
    return this.repo.transaction(async (client) => {
      await this.repo.lockCustomer(client, customerId);
      const scope = await this.scope(client, customerId);
      const existing = await this.repo.headers(client, customerId);
      const find = (kind: InvoiceKind, p: Period) => existing.find((i) => i.kind === kind && i.periodStart.getTime() === p.start.getTime());
      const out = { drafted: 0, finalized: [] as string[], nextDue: scope.timeline.nextBoundary(at), events: 0 };
      for (const s of scope.timeline.advanceStarts(at)) {
        const p = scope.timeline.periodOf(s, s.startsAt);
        if (find(InvoiceKind.OPENING, p)) continue;
        const computed = await this.computeOpening(client, scope, p, s.id, null);
        if (computed.lines.length === 0) continue;
        out.finalized.push(await this.store(client, scope, InvoiceKind.OPENING, p, computed, null, at, true));
      }
      const counts = await this.usage.usageCounts(client, customerId, scope.customer.currency);
      for (const p of scope.timeline.periodsEndedBy(at)) {
        const draft = find(InvoiceKind.PERIOD, p);
        if (draft && draft.status !== InvoiceStatus.DRAFT) continue;
        const graceOver = at.getTime() >= p.end.getTime() + this.config.graceMs;
        const stale = !draft || draft.usageSeen[p.start.toISOString()] !== (counts.get(p.start.toISOString()) ?? 0) || scope.timeline.subscriptions.some((s) => s.updatedAt > draft.computedAt);
        if (!stale && !graceOver) {
          out.nextDue = Math.min(out.nextDue, p.end.getTime() + this.config.graceMs);
          continue;
        }
        if (stale) {
          const computed = await this.computePeriod(client, scope, p, draft?.id ?? null, existing, counts);
          const id = await this.store(client, scope, InvoiceKind.PERIOD, p, computed, draft?.id ?? null, at, graceOver);
          if (!graceOver) out.drafted++;
          else out.finalized.push(id);
          if (!graceOver) out.nextDue = Math.min(out.nextDue, p.end.getTime() + this.config.graceMs);
        } else {
          out.finalized.push(await this.numberInvoice(client, scope, draft!.id, at));
        }
        if (graceOver) out.events += counts.get(p.start.toISOString()) ?? 0;
      }
      return out;
    });
  }

  /** The invoice of the current period as if it closed now, with a projection to the period's end. */
  async upcoming(customerId: string): Promise<{ invoice: InvoiceRecord; projected: ReturnType<typeof invoiceTotals>; elapsed: Decimal } | null> {
    return this.reads.transaction(async (client) => {
      const scope = await this.scope(client, customerId);
      const now = await this.customers.nowOf(scope.customer);
      const current = scope.timeline.at(now);
      if (!current) return null;
      const p = scope.timeline.periodOf(current, now);
      const existing = await this.reads.headers(client, customerId);
      const counts = await this.usage.usageCounts(client, customerId, scope.customer.currency);
      const computed = await this.computePeriod(client, scope, p, null, existing, counts);
      // The same projection as currentPeriod's spend, applied to each usage-driven line of the
      // period, counted from when billing began in it.
      const billedFrom = scope.timeline.segments(p).reduce<Date | null>((first, s) => (!first || s.start < first ? s.start : first), null);
      // A RECURRING meter's lines already bill the levels held to the period's end: not projected.
      const recurring = new Set(scope.timeline.charges(p).filter((c) => c.aggregation === 'RECURRING').map((c) => c.meterCode));
      const projectedLines = computed.lines.map((l) => {
        if (!isUsage(l) || l.periodStart.getTime() !== p.start.getTime() || (l.meterCode !== null && recurring.has(l.meterCode))) return l;
        const precise = projectSpend(l.precise, p, now, billedFrom);
        return { ...l, precise, rounded: roundMoney(precise, scope.options) };
      });
      const elapsed = Decimal.min(new Decimal(1), new Decimal(now.getTime() - p.start.getTime()).div(p.end.getTime() - p.start.getTime()));
      const invoice = this.record(scope, InvoiceKind.PERIOD, p, computed, newId(now.getTime()), now, null);
      return { invoice, projected: invoiceTotals(projectedLines, scope.options), elapsed };
    });
  }

  async get(id: string): Promise<InvoiceRecord> {
    return this.getFrom(this.reads, id);
  }

  /**
   * An invoice as the primary has it: a payment or a void decides on the invoice's status and
   * answers with the status it wrote, neither of which a replica's copy may be behind on.
   */
  private async getFrom(repo: InvoiceRepository, id: string): Promise<InvoiceRecord> {
    const invoice = isUuid(id) ? await repo.get(id) : null;
    if (!invoice) throw notFound('invoice', id);
    return invoice;
  }

  page(customerId: string, first: number, after: { periodStart: Date; id: string } | null) {
    return this.reads.page(customerId, first, after);
  }

  /**
   * Voids a finalized (or paid) invoice with a reason. With `reissue`, a corrected invoice for the
   * same period is computed from the current data and finalized in the same transaction.
   */
  async void(cmd: { invoiceId: string; reason: string; reissue?: boolean | null }): Promise<{ voided: InvoiceRecord; corrected: InvoiceRecord | null }> {
    const check = new Checker();
    const reason = check.text('reason', cmd.reason, { max: 500, required: true });
    check.done();
    const invoice = await this.getFrom(this.repo, cmd.invoiceId);
    const now = this.clock.now();
    const correctedId = await this.repo.transaction(async (client) => {
      await this.repo.lockCustomer(client, invoice.customerId);
      const done = await this.repo.transition(client, invoice.id, [InvoiceStatus.FINALIZED, InvoiceStatus.PAID], { status: InvoiceStatus.VOID, voided_at: now, void_reason: reason, updated_at: now });
      if (!done) throw new AppError(ErrorCode.CONFLICT, `a ${invoice.status} invoice cannot be voided`);
      await this.announce(client, WebhookTopic.INVOICE_VOIDED, invoice.id, now);
      if (!cmd.reissue) return null;
      const scope = await this.scope(client, invoice.customerId);
      const p = { start: invoice.periodStart, end: invoice.periodEnd };
      const existing = await this.repo.headers(client, invoice.customerId);
      const computed =
        invoice.kind === InvoiceKind.OPENING
          ? await this.computeOpening(client, scope, p, null, null)
          : await this.computePeriod(client, scope, p, null, existing, await this.usage.usageCounts(client, invoice.customerId, scope.customer.currency));
      return this.store(client, scope, invoice.kind, p, computed, null, now, true, invoice.id);
    });
    return { voided: await this.getFrom(this.repo, invoice.id), corrected: correctedId ? await this.getFrom(this.repo, correctedId) : null };
  }

  private async scope(client: SqlClient, customerId: string): Promise<CustomerScope> {
    const customer = await this.customers.get({ id: customerId });
    const rows = await this.repo.subscriptions(client, customerId);
    const subscriptions = await Promise.all(rows.map(async (s) => ({ ...s, plan: (await this.plans.findById(s.planId))! })));
    const timeline = new BillingTimeline(subscriptions, customer.timezone);
    const exponent = (await this.currencies.exponentOf(customer.currency)) ?? 2;
    const planTax = subscriptions.at(-1)?.plan.plan.taxRateCode ?? null;
    const code = customer.taxRateCode ?? planTax;
    const rate = code ? await this.taxes.find(code) : null;
    const taxRate = rate ? { code: rate.code, name: rate.name, percent: rate.percent, inclusive: rate.inclusive } : null;
    return { customer, timeline, taxRate, options: { exponent, rounding: this.config.rounding, taxRate } };
  }

  private async computeOpening(client: SqlClient, scope: CustomerScope, p: Period, subscriptionId: string | null, self: string | null): Promise<Computed> {
    const segments = scope.timeline.segments(p).filter((s) => s.timing === 'ADVANCE' && (!subscriptionId || s.subscriptionId === subscriptionId));
    const items = baseFeeItems(p, segments, this.config.proration, scope.customer.timezone);
    const billed = await this.repo.billed(client, scope.customer.id, [p.start], self);
    const lines = composeLines(items, billed, [], scope.options);
    return { lines, totals: invoiceTotals(lines, scope.options), ruleSets: [], usageSeen: {}, options: scope.options };
  }

  /**
   * A period's invoice: base fees of the period (and, for fees billed in advance, of the next),
   * its usage, and late usage of earlier finalized periods, each less what was billed before.
   */
  private async computePeriod(client: SqlClient, scope: CustomerScope, p: Period, self: string | null, existing: InvoiceRecord[], counts: Map<string, number>): Promise<Computed> {
    const { timeline, customer } = scope;
    const next = timeline.next(p);
    const items: BillingItem[] = [...baseFeeItems(p, timeline.segments(p), this.config.proration, customer.timezone)];
    if (next) items.push(...baseFeeItems(next, timeline.segments(next).filter((s) => s.timing === 'ADVANCE'), this.config.proration, customer.timezone));
    const usageSeen: Record<string, number> = {};
    const ruleSets = new Map<string, { key: string; version: number; hash: string }>();
    const usagePeriods = [p, ...this.latePeriods(existing, p, counts)];
    for (const up of usagePeriods) {
      const latestMeters = timeline.charges(up).filter((c) => c.aggregation === 'LATEST').map((c) => c.meterCode);
      const recurringMeters = timeline.charges(up).filter((c) => c.aggregation === 'RECURRING').map((c) => c.meterCode);
      const usage = await this.usage.periodUsage(client, customer.id, up.start, customer.currency, timeline.groupBy(up), latestMeters);
      // RECURRING meters are billed for the levels held, carried in or set: not only the period's events.
      const levels = await this.usage.meterLevels(client, customer.id, up.start, up.end, recurringMeters);
      usageSeen[up.start.toISOString()] = usage.seen;
      for (const g of usage.groups) ruleSets.set(`${g.ruleSetKey}@${g.ruleSetVersion}`, { key: g.ruleSetKey, version: g.ruleSetVersion, hash: g.ruleSetHash });
      items.push(...(await this.usageOf(scope, up, usage, levels)));
    }
    const periods = [...usagePeriods.map((x) => x.start), ...(next ? [next.start] : [])];
    const billed = await this.repo.billed(client, customer.id, periods, self);
    const present = new Set(items.map((i) => billedKey(i.periodStart, i.key)));
    const inScope = (k: string) => {
      const [start, key] = [k.slice(0, k.indexOf('|')), k.slice(k.indexOf('|') + 1)];
      if (start === p.start.toISOString()) return true;
      if (next && start === next.start.toISOString()) return key.startsWith('fee:');
      return !key.startsWith('fee:');
    };
    const orphans = [...billed.keys()].filter((k) => !present.has(k) && inScope(k));
    const lines = composeLines(items, billed, orphans, scope.options);
    return { lines, totals: invoiceTotals(lines, scope.options), ruleSets: [...ruleSets.values()], usageSeen, options: scope.options };
  }

  /** Earlier finalized periods whose committed events outnumber what their invoices saw. */
  private latePeriods(existing: InvoiceRecord[], p: Period, counts: Map<string, number>): Period[] {
    const seen = new Map<string, { period: Period; count: number }>();
    for (const inv of existing) {
      if (inv.status === InvoiceStatus.DRAFT) continue;
      for (const [start, count] of Object.entries(inv.usageSeen)) {
        if (new Date(start).getTime() >= p.start.getTime()) continue;
        const prior = seen.get(start);
        const period = inv.periodStart.toISOString() === start ? { start: inv.periodStart, end: inv.periodEnd } : (prior?.period ?? { start: new Date(start), end: inv.periodEnd });
        seen.set(start, { period, count: Math.max(count, prior?.count ?? 0) });
      }
    }
    return [...seen.entries()].filter(([start, s]) => (counts.get(start) ?? 0) > s.count).map(([, s]) => s.period);
  }

  private async usageOf(scope: CustomerScope, p: Period, usage: PeriodUsage, levels: MeterLevels[]): Promise<BillingItem[]> {
    const inForce = scope.timeline.at(new Date(p.end.getTime() - 1)) ?? scope.timeline.at(p.start);
    const round = (amount: Decimal) => roundMoney(amount, scope.options);
    const items = await usageItems({
      period: p,
      groups: usage.groups,
      latest: usage.latest,
      levels,
      charges: scope.timeline.charges(p),
      rules: this.rules,
      customer: { id: scope.customer.id, externalId: scope.customer.externalId, metadata: scope.customer.metadata },
      plan: inForce ? { code: inForce.plan.plan.code, version: inForce.plan.plan.version } : null,
      round,
    });
    return [...items, ...prepaidItems(p, items, usage, round)];
  }

  private record(scope: CustomerScope, kind: InvoiceKind, p: Period, c: Computed, id: string, at: Date, corrects: string | null): InvoiceRecord {
    return {
      id,
      customerId: scope.customer.id,
      kind,
      status: InvoiceStatus.DRAFT,
      currency: scope.customer.currency,
      periodStart: p.start,
      periodEnd: p.end,
      graceEndsAt: new Date(p.end.getTime() + (kind === InvoiceKind.PERIOD ? this.config.graceMs : 0)),
      number: null,
      taxRate: scope.taxRate,
      ...c.totals,
      ruleSets: c.ruleSets,
      usageSeen: c.usageSeen,
      rounding: this.config.rounding,
      proration: this.config.proration,
      computedAt: at,
      finalizedAt: null,
      paidAt: null,
      paymentReference: null,
      amountPaid: '0',
      amountRefunded: '0',
      paymentStatus: InvoicePaymentStatus.NONE,
      paymentAttempts: 0,
      nextPaymentAttemptAt: null,
      uncollectibleAt: null,
      voidedAt: null,
      voidReason: null,
      correctsInvoiceId: corrects,
      corrects: null,
      correctedBy: null,
      seller: null,
      buyer: null,
      paymentTermsDays: null,
      dueAt: null,
      createdAt: at,
      updatedAt: at,
      lines: c.lines.map((l, i) => ({
        id: `${id}-${i + 1}`,
        position: i + 1,
        kind: l.kind,
        billingKey: l.key,
        periodStart: l.periodStart,
        periodEnd: l.periodEnd,
        description: l.description,
        meterCode: l.meterCode,
        dimensions: l.dimensions,
        quantity: l.quantity?.toFixed() ?? null,
        preciseAmount: l.precise.toFixed(),
        amount: l.rounded.toFixed(c.options.exponent),
        taxable: l.taxable,
        tiers: l.tiers,
        adjustments: l.adjustments,
        details: l.details,
      })),
    };
  }

  private async store(client: SqlClient, scope: CustomerScope, kind: InvoiceKind, p: Period, c: Computed, id: string | null, at: Date, finalize: boolean, corrects: string | null = null): Promise<string> {
    const record = this.record(scope, kind, p, c, id ?? newId(at.getTime()), at, corrects);
    await this.repo.save(client, record, c.lines, c.options.exponent);
    if (id === null) await this.announce(client, WebhookTopic.INVOICE_CREATED, record.id, at);
    if (finalize) await this.numberInvoice(client, scope, record.id, at);
    return record.id;
  }

  /** Announces a change of an invoice to webhooks, in its transaction, with the invoice as it now stands. */
  private async announce(client: SqlClient, topic: InvoiceTopic, id: string, at: Date): Promise<void> {
    const invoice = await this.repo.header(client, id);
    if (invoice) await emitWebhook(client, invoiceEvent(topic, invoice, at));
  }

  /**
   * Numbers and finalizes a draft. The seller (configuration), the buyer (the customer's billing
   * details) and the due date are frozen onto it with the number: later changes to either leave
   * the finalized invoice as it was issued.
   */
  private async numberInvoice(client: SqlClient, scope: CustomerScope, id: string, at: Date): Promise<string> {
    const perCustomer = this.config.numbering === 'CUSTOMER';
    const prefix = this.config.numberPrefix;
    const { customer } = scope;
    const paymentTermsDays = customer.paymentTermsDays ?? this.config.paymentTermsDays;
    const facts = { seller: this.config.seller, buyer: buyerSnapshot(customer), paymentTermsDays, dueAt: dueDate(at, paymentTermsDays, customer.timezone) };
    // A test clock's customers never take a number of the live sequence.
    const clock = await this.customers.clockOf(customer);
    const numbering = clock
      ? testClockNumbering(clock)
      : perCustomer
        ? { scope: customer.id, format: (n: bigint) => `${prefix}-${customer.externalId}-${n.toString().padStart(4, '0')}` }
        : { scope: 'organization', format: (n: bigint) => `${prefix}-${n.toString().padStart(6, '0')}` };
    return this.repo
      .finalize(client, id, numbering.scope, numbering.format, at, facts, this.collecting.has(customer.paymentProvider))
      .then(() => this.announce(client, WebhookTopic.INVOICE_FINALIZED, id, at))
      .then(() => id);
  }
}

const isUsage = (l: ComposedLine): boolean => l.kind === LineKind.USAGE || l.kind === LineKind.TRUE_UP || l.kind === LineKind.PREPAID;
