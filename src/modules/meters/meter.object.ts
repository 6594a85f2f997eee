import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType } from '../../graphql/pagination.js';
import { Aggregation, type Meter } from './meter.entity.js';

registerEnumType(Aggregation, {
  name: 'MeterAggregation',
  valuesConfig: {
    COUNT: { description: 'Number of events.' },
    SUM: { description: 'Sum of event quantities.' },
    MAX: { description: 'Largest event quantity in the period.' },
    UNIQUE_COUNT: { description: 'Number of distinct values of the meter property.' },
    LATEST: { description: 'Quantity of the latest event in the period.' },
  },
});

@ObjectType('Meter')
export class MeterObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Aggregation)
  aggregation!: Aggregation;

  @Field(() => String, { nullable: true, description: 'The event property aggregated; null for COUNT.' })
  property!: string | null;

  @Field(() => [String], { description: 'Dimension keys events may carry and usage may be grouped by.' })
  dimensions!: string[];

  @Field(() => Date)
  createdAt!: Date;
}

export const MeterConnection = connectionType('Meter', MeterObject);

export const toMeterObject = (m: Meter): MeterObject => ({
  id: m.id,
  code: m.code,
  name: m.name,
  aggregation: m.aggregation,
  property: m.property,
  dimensions: m.dimensions,
  createdAt: m.createdAt,
});
