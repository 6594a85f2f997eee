import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import { assertCustomerAccess, Role } from '../api-keys/index.js';
import { Granularity } from './usage-buckets.pure.js';
import { UsageDimensionFilterInput, UsageGroupByInput } from './usage-report.inputs.js';
import { CurrentPeriodObject, toCurrentPeriodObject, toUsageReportObject, UsageReportObject } from './usage-report.object.js';
import type { UsageReportService } from './usage-report.service.js';

@Resolver()
export class UsageReportResolver {
  constructor(private readonly service: UsageReportService) {}

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => UsageReportObject, {
    description: `A customer's committed usage in [from, to), in buckets of the customer's time zone (at most 1,000), per currency and the chosen groups.`,
  })
  async usage(
    @Ctx() ctx: RequestContext,
    @Arg('customerId', () => ID) customerId: string,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date, { description: 'Exclusive.' }) to: Date,
    @Arg('granularity', () => Granularity) granularity: Granularity,
    @Arg('groupBy', () => UsageGroupByInput, { nullable: true }) groupBy: UsageGroupByInput | null,
    @Arg('meterCodes', () => [String], { nullable: true, description: 'Only these meters (default: all).' }) meterCodes: string[] | null,
    @Arg('filter', () => [UsageDimensionFilterInput], { nullable: true, description: 'Only events matching every filter (at most 4), by dimension value.' }) filter: UsageDimensionFilterInput[] | null,
  ): Promise<UsageReportObject> {
    assertCustomerAccess(ctx.principal, customerId);
    const report = await this.service.usage({
      customerId,
      from,
      to,
      granularity,
      groupByMeter: groupBy?.meter ?? false,
      dimensions: groupBy?.dimensions ?? [],
      meterCodes: meterCodes ?? null,
      filters: filter ?? [],
    });
    return toUsageReportObject(report);
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => CurrentPeriodObject, {
    description: "The customer's current billing period: spend so far and projected, wallets, limits and the top models by spend.",
  })
  async currentPeriod(
    @Ctx() ctx: RequestContext,
    @Arg('customerId', () => ID) customerId: string,
    @Arg('topModels', () => Int, { defaultValue: 5, description: 'How many models to rank (0-50).' }) topModels: number,
  ): Promise<CurrentPeriodObject> {
    assertCustomerAccess(ctx.principal, customerId);
    return toCurrentPeriodObject(await this.service.currentPeriod(customerId, topModels));
  }
}
