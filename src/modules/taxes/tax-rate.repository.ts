import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import type { SqlPool } from '../../db/sql.js';
import type { Page } from '../../graphql/pagination.js';

/** A named tax percentage. Rates never change: a new rate is a new code (invoices keep a copy). */
export interface TaxRate {
  code: string;
  name: string;
  /** Decimal string, e.g. "20" or "8.875". */
  percent: string;
  /** True when prices already include the tax. */
  inclusive: boolean;
  createdAt: Date;
}

interface Row {
  code: string;
  name: string;
  percent: string;
  inclusive: boolean;
  created_at: Date;
}

const toTaxRate = (r: Row): TaxRate => ({ code: r.code, name: r.name, percent: formatDecimal(new Decimal(r.percent)), inclusive: r.inclusive, createdAt: r.created_at });

export class TaxRateRepository {
  constructor(private readonly sql: SqlPool) {}

  /** Inserts a rate; false when the code is taken. */
  async insert(rate: TaxRate): Promise<boolean> {
    const rows = await this.sql.query(
      'insert into tax_rate (code, name, percent, inclusive, created_at) values ($1, $2, $3, $4, $5) on conflict (code) do nothing returning code',
      [rate.code, rate.name, rate.percent, rate.inclusive, rate.createdAt],
    );
    return rows.length === 1;
  }

  async find(code: string): Promise<TaxRate | null> {
    const [row] = await this.sql.query<Row>('select code, name, percent::text as percent, inclusive, created_at from tax_rate where code = $1', [code]);
    return row ? toTaxRate(row) : null;
  }

  /** A page of the rates by code: keyset on the code, the primary key. */
  async page(after: string | null, first: number): Promise<Page<TaxRate>> {
    const rows = await this.sql.query<Row>(
      'select code, name, percent::text as percent, inclusive, created_at from tax_rate where $1::text is null or code > $1 order by code limit $2',
      [after, first + 1],
    );
    return { items: rows.slice(0, first).map(toTaxRate), hasNextPage: rows.length > first };
  }
}
