import { Field, ObjectType } from 'type-graphql';
import { connectionType } from '../../graphql/pagination.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { TaxRate } from './tax-rate.repository.js';

@ObjectType('TaxRate', { description: 'A named tax percentage that customers and plans refer to by code.' })
export class TaxRateObject {
  @Field(() => String)
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => DecimalScalar, { description: 'Percent, e.g. "20".' })
  percent!: string;

  @Field(() => Boolean, { description: 'True when prices include the tax; invoices then show the tax contained in the total.' })
  inclusive!: boolean;

  @Field(() => Date)
  createdAt!: Date;
}

export const TaxRateConnection = connectionType('TaxRate', TaxRateObject);

export const toTaxRateObject = (r: TaxRate): TaxRateObject => ({ ...r });
