import { Arg, Args, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { ValidationError } from '../../shared/errors.js';
import { assertCustomerAccess, Role } from '../api-keys/index.js';
import { toUsageEventObject, type UsageEventObject } from '../usage/index.js';
import { UsageEventConnection, UsageEventOrder } from './usage-event-list.object.js';
import { MAX_UNSCOPED_RANGE_DAYS, positionKey, type UsageEventListService } from './usage-event-list.service.js';
import { UsageDimensionFilterInput } from './usage-report.inputs.js';

@Resolver()
export class UsageEventListResolver {
  constructor(private readonly service: UsageEventListService) {}

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => UsageEventConnection, {
    description: `Recorded usage events, newest first (or oldest first), a page at a time. A CUSTOMER credential must give its own customerId; an ADMIN key without customerId lists every customer's events in a from-to range of at most ${MAX_UNSCOPED_RANGE_DAYS} days.`,
  })
  async usageEvents(
    @Ctx() ctx: RequestContext,
    @Arg('customerId', () => ID, { nullable: true, description: "Only this customer's events: required for CUSTOMER credentials." }) customerId: string | null | undefined,
    @Arg('meterCode', () => String, { nullable: true, description: 'Only events of this meter.' }) meterCode: string | null | undefined,
    @Arg('from', () => Date, { nullable: true, description: 'Only events whose timestamp is at or after this instant.' }) from: Date | null | undefined,
    @Arg('to', () => Date, { nullable: true, description: 'Only events whose timestamp is before this instant (exclusive).' }) to: Date | null | undefined,
    @Arg('filter', () => [UsageDimensionFilterInput], { nullable: true, description: 'Only events matching every filter (at most 4), by dimension value.' }) filter: UsageDimensionFilterInput[] | null | undefined,
    @Arg('order', () => UsageEventOrder, { defaultValue: UsageEventOrder.NEWEST_FIRST }) order: keyof typeof UsageEventOrder,
    @Args(() => PageArgs) page: PageArgs,
  ): Promise<ConnectionShape<UsageEventObject>> {
    if (customerId) assertCustomerAccess(ctx.principal, customerId);
    else if (ctx.principal.role !== Role.ADMIN) throw new ValidationError([{ path: 'customerId', message: 'is required for a CUSTOMER credential: its own customer id' }]);
    const result = await this.service.list({
      customerId: customerId ?? null,
      meterCode: meterCode ?? null,
      from: from ?? null,
      to: to ?? null,
      filters: filter ?? [],
      order,
      page: toPageRequest(page),
    });
    return toConnection(result, (row) => positionKey(order, row.position), (row) => toUsageEventObject(row.event));
  }
}
