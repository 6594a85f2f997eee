import type { Page, PageRequest } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode, notFound } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { Checker } from '../../shared/validation.js';
import type { TestClock } from './test-clock.record.js';
import type { TestClockRepository } from './test-clock.repository.js';

const DAY_MS = 86_400_000;
/** How far one advance may move a clock: a year and a bit bounds the periods one call closes. */
export const MAX_ADVANCE_MS = 400 * DAY_MS;
/** Dunning steps one advance takes per invoice at most (more than any retry schedule has days). */
const MAX_DUNNING_ROUNDS = 25;
/** How far ahead of the real time a clock may stand. */
export const MAX_AHEAD_MS = 5 * 366 * DAY_MS;

export interface CreateTestClockCommand {
  name: string;
  frozenTime: Date;
}

export interface AdvanceTestClockCommand {
  testClockId: string;
  frozenTime: Date;
}

/** What advancing a clock did, at its new time, to its customers. */
export interface AdvanceReport {
  clock: TestClock;
  customers: number;
  /** Drafts written or brought up to date (periods that ended, still in their grace). */
  drafted: number;
  finalizedInvoiceIds: string[];
  /** Dunning steps taken on the customers' invoices (payment attempts, retries missed, uncollectible). */
  dunningSteps: number;
}

/** What advancing needs of the billing modules: each runs for the clock's customers at the clock's time. */
export interface ClockedWork {
  /** Opens, drafts and finalizes the customer's invoices due at `at` (InvoiceService.closeCustomer). */
  closeCustomer(customerId: string, at: Date): Promise<{ drafted: number; finalized: string[] }>;
  /** Takes a dunning step for each of the clock's customers' invoices due at `at` (one step each); how many moved. */
  runDunning(testClockId: string, at: Date): Promise<number>;
}

/**
 * Test clocks. Creating one fixes a time; customers created on it (createCustomer's
 * testClockId) live at that time. Advancing moves the time forward, then closes what fell due
 * for each of its customers at the new time, as the scheduler does for live customers at the
 * real time: opening invoices, drafts of ended periods, finalization after the grace, dunning.
 * The live scheduler never looks at a clock's customers. An advance that failed part way can be
 * repeated to the same time: each step is idempotent.
 */
export class TestClockService {
  private work: ClockedWork | undefined;

  constructor(
    private readonly repo: TestClockRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Hands over the billing work an advance runs (the composition root, once those modules exist). */
  runs(work: ClockedWork): void {
    this.work = work;
  }

  async create(cmd: CreateTestClockCommand): Promise<TestClock> {
    const check = new Checker();
    const name = check.text('name', cmd.name, { max: 100, required: true });
    const now = this.clock.now();
    this.checkTime(check, 'frozenTime', cmd.frozenTime, now);
    check.done();
    return this.repo.insert({ id: newId(now.getTime()), name: name!, frozenTime: cmd.frozenTime, createdAt: now, updatedAt: now });
  }

  async get(id: string): Promise<TestClock> {
    const clock = isUuid(id) ? await this.repo.find(id) : null;
    if (!clock) throw notFound('test clock', id);
    return clock;
  }

  find(id: string): Promise<TestClock | null> {
    return isUuid(id) ? this.repo.find(id) : Promise.resolve(null);
  }

  page(req: PageRequest): Promise<Page<TestClock>> {
    return this.repo.page(req);
  }

  /**
   * Moves the clock to `frozenTime` (not before its time; the same time repeats what it runs),
   * then runs what fell due for its customers at that time. The move commits first: usage sent
   * meanwhile is stamped with the new time, as it would be once the call returns.
   */
  async advance(cmd: AdvanceTestClockCommand): Promise<AdvanceReport> {
    const work = this.work;
    if (!work) throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'test clocks cannot be advanced yet: the service is starting');
    const now = this.clock.now();
    const clock = await this.repo.run(async (client) => {
      const current = isUuid(cmd.testClockId) ? await this.repo.lock(client, cmd.testClockId) : null;
      if (!current) throw notFound('test clock', cmd.testClockId);
      const check = new Checker();
      if (!(cmd.frozenTime instanceof Date) || Number.isNaN(cmd.frozenTime.getTime())) check.fail('frozenTime', 'is required');
      else if (cmd.frozenTime.getTime() < current.frozenTime.getTime()) check.fail('frozenTime', `must not be before the clock's time, ${current.frozenTime.toISOString()}`);
      else if (cmd.frozenTime.getTime() - current.frozenTime.getTime() > MAX_ADVANCE_MS) check.fail('frozenTime', `may be at most ${MAX_ADVANCE_MS / DAY_MS} days after the clock's time`);
      else this.checkTime(check, 'frozenTime', cmd.frozenTime, now);
      check.done();
      await this.repo.setFrozenTime(client, current.id, cmd.frozenTime, now);
      return { ...current, frozenTime: cmd.frozenTime, updatedAt: now };
    });
    const at = clock.frozenTime;
    const report: AdvanceReport = { clock, customers: 0, drafted: 0, finalizedInvoiceIds: [], dunningSteps: 0 };
    const failed: string[] = [];
    for (const customerId of await this.repo.customerIds(clock.id)) {
      report.customers++;
      try {
        const closed = await work.closeCustomer(customerId, at);
        report.drafted += closed.drafted;
        report.finalizedInvoiceIds.push(...closed.finalized);
      } catch (err) {
        this.logger.error({ err, customerId, testClockId: clock.id }, 'closing a test clock customer failed');
        failed.push(customerId);
      }
    }
    // A long jump may pass several retry days of an invoice: step until nothing more is due.
    for (let round = 0; round < MAX_DUNNING_ROUNDS; round++) {
      const moved = await work.runDunning(clock.id, at);
      report.dunningSteps += moved;
      if (moved === 0) break;
    }
    if (failed.length > 0) {
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, `the clock moved to ${at.toISOString()}, but closing ${failed.length} of its customers failed; advance it to the same time to retry`, { customerIds: failed });
    }
    return report;
  }

  private checkTime(check: Checker, path: string, at: Date | undefined, now: Date): void {
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) check.fail(path, 'is required');
    else if (at.getTime() > now.getTime() + MAX_AHEAD_MS) check.fail(path, 'may be at most 5 years after the real time');
    else if (at.getTime() < Date.UTC(2000, 0, 1)) check.fail(path, 'must not be before 2000-01-01');
  }
}
