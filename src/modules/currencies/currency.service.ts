import type { Orm } from '../../db/orm.js';
import { isUniqueViolation } from '../../db/sql.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { alreadyExists } from '../../shared/errors.js';
import { CREDIT_UNIT_PATTERN, isoCurrencyExponent } from '../../shared/money/currencies.js';
import { Checker } from '../../shared/validation.js';
import { CreditUnit } from './credit-unit.entity.js';
import { CreditUnitRepository } from './credit-unit.repository.js';

export interface CreateCreditUnitCommand {
  code: string;
  name: string;
  exponent?: number | null;
}

/** Knows every currency code the system accepts: ISO 4217 codes and registered credit units. */
export class CurrencyService {
  private readonly creditUnits = new Map<string, number>();

  constructor(
    private readonly orm: Orm,
    private readonly clock: Clock,
  ) {}

  /** The invoice exponent of a currency or credit unit, or undefined when the code is unknown. */
  async exponentOf(code: string): Promise<number | undefined> {
    const iso = isoCurrencyExponent(code);
    if (iso !== undefined) return iso;
    const cached = this.creditUnits.get(code);
    if (cached !== undefined) return cached;
    if (!CREDIT_UNIT_PATTERN.test(code)) return undefined;
    const unit = await new CreditUnitRepository(this.orm).findByCode(code);
    if (unit) this.creditUnits.set(code, unit.exponent);
    return unit?.exponent;
  }

  /** Records a problem on `check` when `code` is not a known currency or credit unit. */
  async checkKnown(check: Checker, path: string, code: string | undefined): Promise<void> {
    if (code === undefined) return;
    if ((await this.exponentOf(code)) === undefined) {
      check.fail(path, `unknown currency ${JSON.stringify(code)}: use an ISO 4217 code such as "USD" or a registered credit unit`);
    }
  }

  async createCreditUnit(cmd: CreateCreditUnitCommand): Promise<CreditUnit> {
    const check = new Checker();
    const code = check.text('code', cmd.code, {
      max: 32,
      required: true,
      pattern: CREDIT_UNIT_PATTERN,
      hint: 'must be 4-32 upper-case letters, digits or "_", starting with a letter',
    });
    const name = check.text('name', cmd.name, { max: 200, required: true });
    const exponent = check.integer('exponent', cmd.exponent, { min: 0, max: 9 }) ?? 0;
    if (code && isoCurrencyExponent(code) !== undefined) check.fail('code', 'is an ISO 4217 currency code');
    check.done();
    const unit = Object.assign(new CreditUnit(), { code: code!, name: name!, exponent, createdAt: this.clock.now() });
    try {
      await new CreditUnitRepository(this.orm).insert(unit);
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists('credit unit', 'code', code!);
      throw err;
    }
    this.creditUnits.set(unit.code, unit.exponent);
    return unit;
  }

  /** A page of the credit units, by code. */
  listCreditUnits(page: PageRequest): Promise<Page<CreditUnit>> {
    return new CreditUnitRepository(this.orm).page(page);
  }
}
