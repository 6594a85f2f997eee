import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { CreditUnitObject } from './credit-unit.object.js';

@InputType()
export class CreateCreditUnitInput {
  @Field(() => String)
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int, { nullable: true, defaultValue: 0 })
  exponent?: number | null;
}

@ObjectType()
export class CreateCreditUnitPayload {
  @Field(() => CreditUnitObject)
  creditUnit!: CreditUnitObject;
}
