import { Field, InputType, ObjectType } from 'type-graphql';
import { Aggregation } from './meter.entity.js';
import { MeterObject } from './meter.object.js';

@InputType()
export class CreateMeterInput {
  @Field(() => String)
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Aggregation)
  aggregation!: Aggregation;

  @Field(() => String, {
    nullable: true,
    description: 'SUM, MAX, LATEST, RECURRING: what the quantity measures, e.g. "tokens" or "seats" (optional). UNIQUE_COUNT: the dimension whose distinct values it counts (required, one of dimensions). COUNT: leave out.',
  })
  property?: string | null;

  @Field(() => [String], { nullable: true })
  dimensions?: string[] | null;
}

@ObjectType()
export class CreateMeterPayload {
  @Field(() => MeterObject)
  meter!: MeterObject;
}
