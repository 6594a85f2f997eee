import { Arg, Authorized, ID, Query, Resolver } from 'type-graphql';
import { Role } from '../api-keys/index.js';
import { MarginGroupBy } from './margin.inputs.js';
import { MarginReportObject, toMarginReportObject } from './margin.object.js';
import type { MarginService } from './margin.service.js';

@Resolver()
export class MarginResolver {
  constructor(private readonly service: MarginService) {}

  @Authorized(Role.ADMIN)
  @Query(() => MarginReportObject, {
    description: 'Revenue, cost, margin and margin percent of the usage events that occurred in [from, to) (at most 92 days), per model, customer, plan or day and per currency, with totals.',
  })
  async margins(
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date, { description: 'Exclusive.' }) to: Date,
    @Arg('groupBy', () => MarginGroupBy) groupBy: MarginGroupBy,
    @Arg('customerId', () => ID, { nullable: true, description: 'Only this customer’s events (its id or external id).' }) customerId: string | null,
  ): Promise<MarginReportObject> {
    return toMarginReportObject(await this.service.margins({ from, to, groupBy, customer: customerId }));
  }
}
