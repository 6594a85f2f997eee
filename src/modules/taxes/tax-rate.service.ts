import type { SqlPool } from '../../db/sql.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { alreadyExists } from '../../shared/errors.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { formatDecimal } from '../../shared/money/decimal.js';
import { Checker } from '../../shared/validation.js';
import { TaxRateRepository, type TaxRate } from './tax-rate.repository.js';

export interface CreateTaxRateCommand {
  code: string;
  name: string;
  percent: Decimal;
  inclusive: boolean;
}

const CODE = { max: 64, required: true, pattern: /^[A-Za-z0-9_.-]{1,64}$/, hint: 'must be 1-64 letters, digits, "_", "." or "-"' };

export class TaxRateService {
  private readonly repo: TaxRateRepository;

  constructor(sql: SqlPool, private readonly clock: Clock) {
    this.repo = new TaxRateRepository(sql);
  }

  async create(cmd: CreateTaxRateCommand): Promise<TaxRate> {
    const check = new Checker();
    const code = check.text('code', cmd.code, CODE);
    const name = check.text('name', cmd.name, { max: 200, required: true });
    if (cmd.percent.isNegative() || cmd.percent.greaterThanOrEqualTo(100)) check.fail('percent', 'must be at least 0 and below 100');
    if (cmd.percent.decimalPlaces() > 6) check.fail('percent', 'may have at most 6 decimal places');
    check.done();
    const rate: TaxRate = { code: code!, name: name!, percent: formatDecimal(cmd.percent), inclusive: cmd.inclusive, createdAt: this.clock.now() };
    if (!(await this.repo.insert(rate))) throw alreadyExists('tax rate', 'code', code!);
    return rate;
  }

  find(code: string): Promise<TaxRate | null> {
    return this.repo.find(code);
  }

  /** A page of the rates, by code. */
  list(page: PageRequest): Promise<Page<TaxRate>> {
    return this.repo.page(page.after ?? null, page.first);
  }
}
