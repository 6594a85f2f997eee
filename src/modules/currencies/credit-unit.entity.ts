import { EntitySchema } from '@mikro-orm/core';

/** A named unit of prepaid credit ("CREDITS", "IMAGE_TOKENS") that wallets and rule sets can use like a currency. */
export class CreditUnit {
  code!: string;
  name!: string;
  /** Decimals shown and rounded to on invoices, like an ISO currency's minor unit. */
  exponent!: number;
  createdAt!: Date;
}

export const CreditUnitSchema = new EntitySchema<CreditUnit>({
  class: CreditUnit,
  tableName: 'credit_unit',
  properties: {
    code: { type: 'string', length: 32, primary: true },
    name: { type: 'string', length: 200 },
    exponent: { type: 'smallint' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
