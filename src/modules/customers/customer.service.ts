import type { Orm } from '../../db/orm.js';
import { isUniqueViolation } from '../../db/sql.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { alreadyExists, notFound } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { toLedgerUnits } from '../../shared/money/units.js';
import { Checker, checkAmount } from '../../shared/validation.js';
import type { CurrencyService } from '../currencies/index.js';
import { Customer } from './customer.entity.js';
import { CustomerRepository } from './customer.repository.js';

export interface CreateCustomerCommand {
  externalId: string;
  name: string;
  email?: string | null;
  currency: string;
  timezone?: string | null;
  metadata?: unknown;
  spendingCap?: Decimal | null;
  taxRateCode?: string | null;
}

export interface UpdateCustomerCommand {
  id: string;
  name?: string | null;
  email?: string | null;
  timezone?: string | null;
  metadata?: unknown;
  /** null removes the cap. */
  spendingCap?: Decimal | null;
  taxRateCode?: string | null;
}

/** A reference to one customer by our id or by the integrator's external id. */
export interface CustomerRef {
  id?: string | null;
  externalId?: string | null;
}

const EXTERNAL_ID = { max: 255, required: true, pattern: /^[\x21-\x7e]+$/, hint: 'must be printable ASCII without spaces' };

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export class CustomerService {
  private readonly capListeners: Array<(customer: Customer) => Promise<void>> = [];

  constructor(
    private readonly orm: Orm,
    private readonly currencies: CurrencyService,
    private readonly clock: Clock,
  ) {}

  /** Registers a callback run after a spending cap changes (the reservation store keeps caps). */
  onSpendingCapChanged(listener: (customer: Customer) => Promise<void>): void {
    this.capListeners.push(listener);
  }

  async create(cmd: CreateCustomerCommand): Promise<Customer> {
    const check = new Checker();
    const externalId = check.text('externalId', cmd.externalId, EXTERNAL_ID);
    const name = check.text('name', cmd.name, { max: 200, required: true });
    const email = check.email('email', cmd.email);
    const currency = check.text('currency', cmd.currency, { max: 32, required: true });
    await this.currencies.checkKnown(check, 'currency', currency);
    const timezone = this.checkTimeZone(check, cmd.timezone ?? 'UTC');
    const metadata = check.metadata('metadata', cmd.metadata) ?? {};
    const spendingCap = cmd.spendingCap ? checkAmount(check, 'spendingCap', cmd.spendingCap, { zero: true }) : undefined;
    await this.checkTaxRate(check, cmd.taxRateCode);
    check.done();

    const now = this.clock.now();
    const customer = Object.assign(new Customer(), {
      id: newId(now.getTime()),
      externalId: externalId!,
      name: name!,
      email: email ?? null,
      currency: currency!,
      timezone: timezone!,
      metadata,
      spendingCap: spendingCap ? toLedgerUnits(spendingCap) : null,
      taxRateCode: cmd.taxRateCode ?? null,
      createdAt: now,
      updatedAt: now,
    });
    try {
      await new CustomerRepository(this.orm).insert(customer);
    } catch (err) {
      if (isUniqueViolation(err, 'customer_external_id_key')) throw alreadyExists('customer', 'externalId', externalId!);
      throw err;
    }
    return customer;
  }

  /** Changes the given fields; `null` clears email, absent fields stay. Currency never changes. */
  async update(cmd: UpdateCustomerCommand): Promise<Customer> {
    const check = new Checker();
    const name = cmd.name === undefined ? undefined : check.text('name', cmd.name, { max: 200, required: true });
    const email = cmd.email === undefined || cmd.email === null ? cmd.email : check.email('email', cmd.email);
    const timezone = cmd.timezone === undefined ? undefined : this.checkTimeZone(check, cmd.timezone);
    const metadata = cmd.metadata === undefined ? undefined : check.metadata('metadata', cmd.metadata ?? {});
    const spendingCap = cmd.spendingCap ? checkAmount(check, 'spendingCap', cmd.spendingCap, { zero: true }) : cmd.spendingCap;
    await this.checkTaxRate(check, cmd.taxRateCode);
    check.done();

    const repo = new CustomerRepository(this.orm);
    const customer = isUuid(cmd.id) ? await repo.findById(cmd.id) : null;
    if (!customer) throw notFound('customer', cmd.id);
    if (name !== undefined) customer.name = name;
    if (email !== undefined) customer.email = email;
    if (timezone !== undefined) customer.timezone = timezone;
    if (metadata !== undefined) customer.metadata = metadata;
    if (cmd.taxRateCode !== undefined) customer.taxRateCode = cmd.taxRateCode;
    const capChanged = spendingCap !== undefined;
    if (capChanged) customer.spendingCap = spendingCap === null ? null : toLedgerUnits(spendingCap);
    customer.updatedAt = this.clock.now();
    await repo.flush();
    if (capChanged) for (const listener of this.capListeners) await listener(customer);
    return customer;
  }

  private async checkTaxRate(check: Checker, code: string | null | undefined): Promise<void> {
    if (code === undefined || code === null) return;
    if (!(await new CustomerRepository(this.orm).taxRateExists(code))) check.fail('taxRateCode', `unknown tax rate ${JSON.stringify(code)}: create it with createTaxRate`);
  }

  /** Finds a customer by exactly one of id and external id; null when there is none. */
  async find(ref: CustomerRef): Promise<Customer | null> {
    const check = new Checker();
    if (!!ref.id === !!ref.externalId) check.fail('id', 'give exactly one of id and externalId');
    check.done();
    const repo = new CustomerRepository(this.orm);
    if (ref.id) return isUuid(ref.id) ? repo.findById(ref.id) : null;
    return repo.findByExternalId(ref.externalId!);
  }

  /** Like find, but a missing customer is NOT_FOUND. */
  async get(ref: CustomerRef): Promise<Customer> {
    const customer = await this.find(ref);
    if (!customer) throw notFound('customer', (ref.id ?? ref.externalId)!);
    return customer;
  }

  async exists(id: string): Promise<boolean> {
    return isUuid(id) && (await new CustomerRepository(this.orm).findById(id)) !== null;
  }

  list(req: PageRequest): Promise<Page<Customer>> {
    return new CustomerRepository(this.orm).page(req);
  }

  private checkTimeZone(check: Checker, zone: string | null): string | undefined {
    const value = check.text('timezone', zone, { max: 64, required: true });
    if (value && !isTimeZone(value)) return check.fail('timezone', `unknown time zone ${JSON.stringify(value)}: use an IANA name such as "Europe/Paris"`);
    return value;
  }
}
