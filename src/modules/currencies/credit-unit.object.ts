import { Field, Int, ObjectType } from 'type-graphql';
import { connectionType } from '../../graphql/pagination.js';
import type { CreditUnit } from './credit-unit.entity.js';

@ObjectType('CreditUnit', { description: 'A named prepaid credit unit usable wherever a currency is.' })
export class CreditUnitObject {
  @Field(() => String)
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int, { description: 'Decimals that invoices round to.' })
  exponent!: number;
}

export const CreditUnitConnection = connectionType('CreditUnit', CreditUnitObject);

export const toCreditUnitObject = (u: CreditUnit): CreditUnitObject => ({ code: u.code, name: u.name, exponent: u.exponent });
