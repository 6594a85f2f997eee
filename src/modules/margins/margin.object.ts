import { Field, Int, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { Decimal } from '../../shared/money/decimal.js';
import { MarginGroupBy } from './margin.inputs.js';
import type { MarginLine, MarginReport } from './margin.pure.js';

@ObjectType('MarginRow', { description: 'What the events of one group earned and what serving them cost, in one currency.' })
export class MarginRowObject {
  @Field(() => String, { description: 'The model, customer external id, plan code or day; "(total)" on a totals row.' })
  key!: string;

  @Field(() => String, { description: 'The currency of revenue and cost.' })
  currency!: string;

  @Field(() => Int)
  events!: number;

  @Field(() => DecimalScalar, { description: 'What the events were charged: to the unit what the ledger’s usage entries took.' })
  revenue!: Decimal;

  @Field(() => DecimalScalar, { description: 'What serving them cost: the sum of each event’s cost (cost books or its actual provider cost), rounded half-up to 1e-9 once per event.' })
  cost!: Decimal;

  @Field(() => DecimalScalar, { description: 'revenue − cost.' })
  margin!: Decimal;

  @Field(() => DecimalScalar, { nullable: true, description: 'margin in percent of revenue, rounded half-up to 2 places; null when revenue is zero.' })
  marginPercent!: Decimal | null;

  @Field(() => Int, { description: 'Events whose cost is unknown (no cost book priced them, no provider cost) or in another currency: their revenue counts, their cost does not.' })
  uncostedEvents!: number;
}

@ObjectType('MarginReport', { description: 'Revenue, cost and margin of the usage events of a window.' })
export class MarginReportObject {
  @Field(() => Date)
  from!: Date;

  @Field(() => Date)
  to!: Date;

  @Field(() => MarginGroupBy)
  groupBy!: MarginGroupBy;

  @Field(() => [MarginRowObject], { description: 'One row per group and currency, in key order.' })
  rows!: MarginRowObject[];

  @Field(() => [MarginRowObject], { description: 'One row per currency, over every group.' })
  totals!: MarginRowObject[];
}

const toRow = (l: MarginLine): MarginRowObject => ({
  key: l.key,
  currency: l.currency,
  events: l.events,
  revenue: new Decimal(l.revenue),
  cost: new Decimal(l.cost),
  margin: new Decimal(l.margin),
  marginPercent: l.marginPercent === null ? null : new Decimal(l.marginPercent),
  uncostedEvents: l.uncostedEvents,
});

export function toMarginReportObject(r: MarginReport): MarginReportObject {
  return { from: r.from, to: r.to, groupBy: r.groupBy, rows: r.rows.map(toRow), totals: r.totals.map(toRow) };
}
