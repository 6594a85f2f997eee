import type { Page, PageRequest } from '../../graphql/pagination.js';
import { isUuid } from '../../shared/ids.js';
import { Checker } from '../../shared/validation.js';
import { CODE_PATTERN } from '../meters/index.js';
import { UsageEventListRepository, type UsageEventListRow, type UsageEventOrder, type UsageEventPosition } from './usage-event-list.repository.js';
import type { UsageDimensionFilter } from './usage-report.repository.js';
import { checkFilters } from './usage-report.service.js';

/**
 * The longest time range a list of every customer's events may cover: without a customer the
 * range is all that narrows the read (to the one or two monthly partitions it touches).
 */
export const MAX_UNSCOPED_RANGE_DAYS = 7;
const DAY_MS = 86_400_000;

export interface UsageEventListCommand {
  /** Null: every customer's events (ADMIN only; the resolver sees to that). */
  customerId: string | null;
  meterCode: string | null;
  from: Date | null;
  to: Date | null;
  filters: UsageDimensionFilter[];
  order: UsageEventOrder;
  page: PageRequest;
}

/** The opaque position a cursor carries: the order it was made for, the timestamp to the microsecond, the id. */
const POSITION = /^(N|O)\|(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([0-9a-f-]{36})$/;
const ORDER_MARK: Record<UsageEventOrder, string> = { NEWEST_FIRST: 'N', OLDEST_FIRST: 'O' };

export const positionKey = (order: UsageEventOrder, position: UsageEventPosition): string => `${ORDER_MARK[order]}|${position.at}|${position.id}`;

/** Lists recorded usage events, filtered and a page at a time, on the read pool. */
export class UsageEventListService {
  constructor(private readonly repository: UsageEventListRepository) {}

  async list(cmd: UsageEventListCommand): Promise<Page<UsageEventListRow>> {
    const check = new Checker();
    if (cmd.customerId !== null && !isUuid(cmd.customerId)) check.fail('customerId', 'must be a customer id');
    if (cmd.meterCode !== null && !CODE_PATTERN.test(cmd.meterCode)) check.fail('meterCode', 'is not a meter code');
    if (cmd.from && cmd.to && cmd.to <= cmd.from) check.fail('to', 'must be after from');
    if (cmd.customerId === null) {
      if (!cmd.from) check.fail('from', `is required without customerId (a range of at most ${MAX_UNSCOPED_RANGE_DAYS} days)`);
      if (!cmd.to) check.fail('to', `is required without customerId (a range of at most ${MAX_UNSCOPED_RANGE_DAYS} days)`);
      if (cmd.from && cmd.to && cmd.to.getTime() - cmd.from.getTime() > MAX_UNSCOPED_RANGE_DAYS * DAY_MS) {
        check.fail('to', `must be at most ${MAX_UNSCOPED_RANGE_DAYS} days after from without customerId`);
      }
    }
    checkFilters(check, cmd.filters);
    const after = cmd.page.after === undefined ? null : positionOf(check, cmd.page.after, cmd.order);
    check.done();
    const { rows, hasNextPage } = await this.repository.list({
      customerId: cmd.customerId,
      meterCode: cmd.meterCode,
      from: cmd.from,
      to: cmd.to,
      filters: cmd.filters,
      order: cmd.order,
      after,
      first: cmd.page.first,
    });
    return { items: rows, hasNextPage };
  }
}

function positionOf(check: Checker, key: string, order: UsageEventOrder): UsageEventPosition | null {
  const match = POSITION.exec(key);
  if (!match) return check.fail('after', 'is not a cursor of usageEvents') ?? null;
  if (match[1] !== ORDER_MARK[order]) return check.fail('after', `was made for another order than ${order}`) ?? null;
  return { at: match[2]!, id: match[3]! };
}
