import { ValidationError } from '../../shared/errors.js';
import { marginReport, type MarginReport } from './margin.pure.js';
import { MarginGroupBy, type MarginWindow } from './margin.record.js';
import type { MarginRepository } from './margin.repository.js';

export interface MarginsCommand {
  from: Date;
  to: Date;
  groupBy: MarginGroupBy;
  /** A customer's id or external id: only its events. */
  customer?: string | null;
}

const DAY_MS = 86_400_000;

/**
 * Margins: what usage earned (the events' charges, as the ledger took them) against what serving
 * it cost (the cost stored with each event), per model, customer, plan or day.
 */
export class MarginService {
  constructor(
    private readonly repo: MarginRepository,
    /** The longest window one query may cover, in days (null: any, for the command line). */
    private readonly maxWindowDays: number | null,
  ) {}

  async margins(cmd: MarginsCommand): Promise<MarginReport> {
    const problems: Array<{ path: string; message: string }> = [];
    const { from, to } = cmd;
    if (Number.isNaN(from.getTime())) problems.push({ path: 'from', message: 'is not an instant' });
    if (Number.isNaN(to.getTime())) problems.push({ path: 'to', message: 'is not an instant' });
    else if (!(to.getTime() > from.getTime())) problems.push({ path: 'to', message: 'must be after from' });
    else if (this.maxWindowDays !== null && to.getTime() - from.getTime() > this.maxWindowDays * DAY_MS) {
      problems.push({ path: 'to', message: `margins cover at most ${this.maxWindowDays} days` });
    }
    if (!Object.values(MarginGroupBy).includes(cmd.groupBy)) problems.push({ path: 'groupBy', message: `must be one of ${Object.values(MarginGroupBy).join(', ')}` });
    const ref = cmd.customer ?? null;
    if (ref !== null && (ref.length === 0 || ref.length > 255)) problems.push({ path: 'customer', message: 'must be a customer id or external id' });
    if (problems.length > 0) throw new ValidationError(problems);
    let customerId: string | null = null;
    if (ref !== null) {
      customerId = await this.repo.customerId(ref);
      if (customerId === null) throw new ValidationError([{ path: 'customer', message: `no customer ${ref}` }]);
    }
    const window: MarginWindow = { from, to, groupBy: cmd.groupBy, customerId };
    return marginReport(await this.repo.sums(window), window);
  }
}
