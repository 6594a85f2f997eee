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
import { checkBillingDetails, PAYMENT_TERMS_DAYS, type BillingDetailsInput } from './billing-details.pure.js';
import { Customer, PaymentProviderName } from './customer.entity.js';
import { CustomerRepository, type CustomerClock } from './customer.repository.js';

export interface CreateCustomerCommand {
  externalId: string;
  name: string;
  email?: string | null;
  currency: string;
  timezone?: string | null;
  metadata?: unknown;
  spendingCap?: Decimal | null;
  taxRateCode?: string | null;
  billingDetails?: BillingDetailsInput | null;
  paymentTermsDays?: number | null;
  testClockId?: string | null;
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
  /** null removes them. */
  billingDetails?: BillingDetailsInput | null;
  /** null returns to the deployment's default. */
  paymentTermsDays?: number | null;
}

/** Who collects a customer's invoices, and the provider's references to charge it. */
export interface SetPaymentMethodCommand {
  customerId: string;
  provider: string;
  /** STRIPE: the Stripe customer (cus_…). */
  stripeCustomerId?: string | null;
  /** STRIPE: its default payment method (pm_…), charged off-session. */
  stripePaymentMethodId?: string | null;
}

/** A reference to one customer by our id or by the integrator's external id. */
export interface CustomerRef {
  id?: string | null;
  externalId?: string | null;
}

const { MANUAL, STRIPE } = PaymentProviderName;

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
    /** The payment providers this deployment has (MANUAL, and STRIPE when configured). */
    private readonly paymentProviders: readonly string[] = [MANUAL],
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
    const billingDetails = checkBillingDetails(check, 'billingDetails', cmd.billingDetails) ?? null;
    const paymentTermsDays = check.integer('paymentTermsDays', cmd.paymentTermsDays, PAYMENT_TERMS_DAYS) ?? null;
    const testClock = cmd.testClockId ? isUuid(cmd.testClockId) && (await new CustomerRepository(this.orm).testClock(cmd.testClockId)) : null;
    if (cmd.testClockId && !testClock) check.fail('testClockId', 'is not a test clock');
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
      billingDetails,
      paymentTermsDays,
      paymentProvider: MANUAL,
      stripeCustomerId: null,
      stripePaymentMethodId: null,
      testClockId: testClock ? testClock.id : null,
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
    const billingDetails = checkBillingDetails(check, 'billingDetails', cmd.billingDetails);
    const paymentTermsDays = cmd.paymentTermsDays === null ? null : check.integer('paymentTermsDays', cmd.paymentTermsDays, PAYMENT_TERMS_DAYS);
    check.done();

    const repo = new CustomerRepository(this.orm);
    const customer = isUuid(cmd.id) ? await repo.findById(cmd.id) : null;
    if (!customer) throw notFound('customer', cmd.id);
    if (name !== undefined) customer.name = name;
    if (email !== undefined) customer.email = email;
    if (timezone !== undefined) customer.timezone = timezone;
    if (metadata !== undefined) customer.metadata = metadata;
    if (cmd.taxRateCode !== undefined) customer.taxRateCode = cmd.taxRateCode;
    if (billingDetails !== undefined) customer.billingDetails = billingDetails;
    if (paymentTermsDays !== undefined) customer.paymentTermsDays = paymentTermsDays;
    const capChanged = spendingCap !== undefined;
    if (capChanged) customer.spendingCap = spendingCap === null ? null : toLedgerUnits(spendingCap);
    customer.updatedAt = this.clock.now();
    await repo.flush();
    if (capChanged) for (const listener of this.capListeners) await listener(customer);
    return customer;
  }

  /**
   * Sets who collects the customer's invoices. STRIPE takes the references of the Stripe customer
   * and its default payment method, which the service charges off-session; nothing of the card
   * itself is ever sent here or stored. MANUAL clears the references.
   */
  async setPaymentMethod(cmd: SetPaymentMethodCommand): Promise<Customer> {
    const check = new Checker();
    if (!this.paymentProviders.includes(cmd.provider)) check.fail('provider', `must be one of ${this.paymentProviders.join(', ')} (the providers this deployment has)`);
    const stripe = cmd.provider === STRIPE;
    const customerRef = check.text('stripeCustomerId', cmd.stripeCustomerId, { max: 255, required: stripe, pattern: /^cus_[A-Za-z0-9]+$/, hint: 'must be a Stripe customer id (cus_…)' });
    const methodRef = check.text('stripePaymentMethodId', cmd.stripePaymentMethodId, { max: 255, required: stripe, pattern: /^pm_[A-Za-z0-9_]+$/, hint: 'must be a Stripe payment method id (pm_…)' });
    if (!stripe && (customerRef || methodRef)) check.fail(customerRef ? 'stripeCustomerId' : 'stripePaymentMethodId', 'is only given with provider STRIPE');
    check.done();
    const repo = new CustomerRepository(this.orm);
    const customer = isUuid(cmd.customerId) ? await repo.findById(cmd.customerId) : null;
    if (!customer) throw notFound('customer', cmd.customerId);
    customer.paymentProvider = cmd.provider;
    customer.stripeCustomerId = stripe ? customerRef! : null;
    customer.stripePaymentMethodId = stripe ? methodRef! : null;
    customer.updatedAt = this.clock.now();
    await repo.flush();
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

  /**
   * The customer's "now": its test clock's time, or the real time for a live customer. Usage,
   * subscriptions, periods and invoices of a customer on a test clock go by it.
   */
  async nowOf(customer: Pick<Customer, 'testClockId'>): Promise<Date> {
    if (!customer.testClockId) return this.clock.now();
    return (await this.clockOf(customer))!.frozenTime;
  }

  /** The test clock a customer lives on, read afresh (it moves); null for a live customer. */
  async clockOf(customer: Pick<Customer, 'testClockId'>): Promise<CustomerClock | null> {
    if (!customer.testClockId) return null;
    const clock = await new CustomerRepository(this.orm).testClock(customer.testClockId);
    if (!clock) throw new Error(`test clock ${customer.testClockId} is missing`);
    return clock;
  }

  /** Live customers; with a test clock's id, that clock's customers. */
  list(req: PageRequest, testClockId: string | null = null): Promise<Page<Customer>> {
    if (testClockId !== null && !isUuid(testClockId)) return Promise.resolve({ items: [], hasNextPage: false });
    return new CustomerRepository(this.orm).page(req, testClockId);
  }

  private checkTimeZone(check: Checker, zone: string | null): string | undefined {
    const value = check.text('timezone', zone, { max: 64, required: true });
    if (value && !isTimeZone(value)) return check.fail('timezone', `unknown time zone ${JSON.stringify(value)}: use an IANA name such as "Europe/Paris"`);
    return value;
  }
}
