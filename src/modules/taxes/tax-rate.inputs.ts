import { Field, InputType, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { TaxRateObject } from './tax-rate.object.js';

@InputType()
export class CreateTaxRateInput {
  @Field(() => String)
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => DecimalScalar)
  percent!: Decimal;

  @Field(() => Boolean)
  inclusive!: boolean;
}

@ObjectType()
export class CreateTaxRatePayload {
  @Field(() => TaxRateObject)
  taxRate!: TaxRateObject;
}
