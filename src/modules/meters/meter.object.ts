import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { connectionType } from '../../graphql/pagination.js';
import { Aggregation, type Meter } from './meter.entity.js';

registerEnumType(Aggregation, {
  name: 'MeterAggregation',
  valuesConfig: {
    COUNT: { description: 'Number of events; each event is charged as one unit.' },
    SUM: { description: 'Sum of event quantities; each event is charged for its quantity.' },
    MAX: { description: "Largest event quantity in the period; an event is charged for how far it raises the period's maximum." },
    UNIQUE_COUNT: { description: 'Number of distinct values of the dimension named by `property`; an event is charged when its value is first seen in the period.' },
    LATEST: { description: "Quantity of the period's last event (by time); charged per event as the maximum rises, trued up to the last value on the invoice." },
    RECURRING: {
      description:
        "A level held until changed (seats, reserved capacity): each event sets the meter's new level (0 allowed) from its timestamp on, and the level carries over into later periods. An event is charged the rise of the period price for the rest of the period (a downgrade nothing); the invoice bills the time-weighted amount and trues up the difference (a downgrade credits).",
    },
  },
});

@ObjectType('Meter', { implements: Node })
export class MeterObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Aggregation)
  aggregation!: Aggregation;

  @Field(() => String, { nullable: true, description: 'SUM, MAX, LATEST, RECURRING: what the quantity measures (a label). UNIQUE_COUNT: the dimension whose distinct values are counted. COUNT: null.' })
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
