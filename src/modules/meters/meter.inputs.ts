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

  @Field(() => String, { nullable: true })
  property?: string | null;

  @Field(() => [String], { nullable: true })
  dimensions?: string[] | null;
}

@ObjectType()
export class CreateMeterPayload {
  @Field(() => MeterObject)
  meter!: MeterObject;
}
