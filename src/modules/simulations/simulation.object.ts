import { Field, Int, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { Decimal } from '../../shared/money/decimal.js';
import type { SimulationLine, SimulationReport } from './simulation.pure.js';

@ObjectType('SimulationLine', { description: 'Revenue of one customer, dimension value, rule set or currency: as charged and as the candidate would charge it.' })
export class SimulationLineObject {
  @Field(() => String, { description: 'The customer’s external id, the dimension’s value ("(none)" for events without it), the rule-set key, or the currency.' })
  name!: string;

  @Field(() => String)
  currency!: string;

  @Field(() => Int)
  events!: number;

  @Field(() => DecimalScalar, { description: 'What the events were charged.' })
  current!: Decimal;

  @Field(() => DecimalScalar, { description: 'What the candidate rule sets charge them.' })
  candidate!: Decimal;

  @Field(() => DecimalScalar, { description: 'candidate − current.' })
  difference!: Decimal;

  @Field(() => DecimalScalar, { nullable: true, description: 'The difference in percent of current, rounded half-up to 2 places; null when current is zero.' })
  percent!: Decimal | null;
}

@ObjectType('PricingSimulation', { description: 'A price simulation: recorded events re-rated under candidate rule sets.' })
export class PricingSimulationObject {
  @Field(() => Date)
  from!: Date;

  @Field(() => Date)
  to!: Date;

  @Field(() => String, { description: 'The dimension `byValue` splits by.' })
  by!: string;

  @Field(() => Int, { description: 'Events re-rated in the window.' })
  events!: number;

  @Field(() => Int, { description: 'Of them, events the candidate refuses or has no version in force for: candidate 0.' })
  refused!: number;

  @Field(() => Int, { description: 'Of them, events of rule sets the candidate does not define: candidate = current.' })
  unchanged!: number;

  @Field(() => [SimulationLineObject], { description: 'One line per currency.' })
  totals!: SimulationLineObject[];

  @Field(() => [SimulationLineObject])
  customers!: SimulationLineObject[];

  @Field(() => [SimulationLineObject], { description: 'Per value of the `by` dimension.' })
  byValue!: SimulationLineObject[];

  @Field(() => [SimulationLineObject])
  ruleSets!: SimulationLineObject[];
}

const toLine = (l: SimulationLine): SimulationLineObject => ({
  name: l.name,
  currency: l.currency,
  events: l.events,
  current: new Decimal(l.current),
  candidate: new Decimal(l.candidate),
  difference: new Decimal(l.difference),
  percent: l.percent === null ? null : new Decimal(l.percent),
});

export function toPricingSimulationObject(r: SimulationReport): PricingSimulationObject {
  return {
    from: r.from,
    to: r.to,
    by: r.by,
    events: r.events,
    refused: r.refused,
    unchanged: r.unchanged,
    totals: r.totals.map(toLine),
    customers: r.customers.map(toLine),
    byValue: r.groups.map(toLine),
    ruleSets: r.ruleSets.map(toLine),
  };
}
