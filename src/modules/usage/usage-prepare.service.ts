import { newId } from '../../shared/ids.js';
import { Decimal } from '../../shared/money/decimal.js';
import { toLedgerUnits } from '../../shared/money/units.js';
import { ValidationError } from '../../shared/errors.js';
import { Checker, checkAmount } from '../../shared/validation.js';
import type { Config } from '../../config/config.js';
import { requestHash } from '../idempotency/index.js';
import { cloudEventCommand, cloudEventProblems, cloudEventType } from './cloud-events.pure.js';
import type { UsageContextCache } from './usage-context.cache.js';
import { checkDimensions, checkDistinctValue, checkMeterQuantity, checkValues } from './usage-event-checks.pure.js';
import type { UsageJob } from './usage-job.pure.js';

export interface RecordUsageCommand {
  customerId?: string | null;
  externalCustomerId?: string | null;
  meterCode: string;
  quantity?: Decimal | null;
  timestamp?: Date | null;
  dimensions?: unknown;
  values?: unknown;
  idempotencyKey: string;
}

export interface AuthorizeUsageCommand {
  customerId?: string | null;
  externalCustomerId?: string | null;
  meterCode: string;
  /** Hold this quantity, priced by the rules; or give estimatedAmount. */
  estimatedQuantity?: Decimal | null;
  estimatedAmount?: Decimal | null;
  dimensions?: unknown;
  values?: unknown;
  ttlSeconds?: number | null;
  idempotencyKey: string;
}

const MIN_TTL_SECONDS = 1;
const MAX_TTL_SECONDS = 7 * 86_400;
const DEFAULT_TTL_SECONDS = 900;

/**
 * The pipeline's first two steps: validate what an entry point was given and resolve its
 * context (customer, meter, plan, rule set, period), giving a job with its idempotency key and
 * request fingerprint. Throws AppError for a bad event, naming each problem.
 */
export class UsagePreparer {
  constructor(
    private readonly contexts: UsageContextCache,
    private readonly config: Config['usage'],
  ) {}

  /** Validates a usage command and resolves its context; throws AppError for a bad event. */
  async prepare(cmd: RecordUsageCommand, index: number, now: Date): Promise<UsageJob> {
    const check = new Checker();
    const key = check.idempotencyKey('idempotencyKey', cmd.idempotencyKey);
    // The window is the customer's: a customer on a test clock lives at the clock's time.
    const event = await this.resolveEvent(check, cmd, 'quantity', cmd.quantity, now, (customerNow) => {
      const at = cmd.timestamp ?? customerNow;
      if (at.getTime() < customerNow.getTime() - this.config.maxAgeMs) check.fail('timestamp', `is more than ${this.config.maxAgeMs / 86_400_000} days in the past`);
      if (at.getTime() > customerNow.getTime() + this.config.maxFutureMs) check.fail('timestamp', `is more than ${this.config.maxFutureMs / 1000} seconds in the future`);
      return at;
    });
    const at = event.at;
    const hash = requestHash({
      customer: event.ctx.customer.id,
      meter: event.ctx.meter.code,
      quantity: event.quantity,
      timestamp: cmd.timestamp ?? null,
      dimensions: { ...event.dimensions },
      values: { ...event.values },
    });
    return { kind: 'usage', index, key: key!, hash, ...event, quantity: event.quantity!, eventId: newId(at.getTime()), holdId: newId(), settles: null };
  }

  /** Validates an authorization and resolves its context; its reservation id is its hold's. */
  async prepareAuthorization(cmd: AuthorizeUsageCommand, now: Date): Promise<UsageJob> {
    const check = new Checker();
    const key = check.idempotencyKey('idempotencyKey', cmd.idempotencyKey);
    if (!!cmd.estimatedQuantity === !!cmd.estimatedAmount) check.fail('estimatedQuantity', 'give exactly one of estimatedQuantity and estimatedAmount');
    const ttl = check.integer('ttlSeconds', cmd.ttlSeconds ?? DEFAULT_TTL_SECONDS, { min: MIN_TTL_SECONDS, max: MAX_TTL_SECONDS }) ?? DEFAULT_TTL_SECONDS;
    const amount = cmd.estimatedAmount ? checkAmount(check, 'estimatedAmount', cmd.estimatedAmount) : undefined;
    const event = await this.resolveEvent(check, cmd, 'estimatedQuantity', cmd.estimatedQuantity, now, (customerNow) => customerNow, !cmd.estimatedQuantity);
    const hash = requestHash({
      customer: event.ctx.customer.id,
      meter: event.ctx.meter.code,
      quantity: event.quantity,
      amount,
      dimensions: { ...event.dimensions },
      values: { ...event.values },
      ttl,
    });
    const id = newId(now.getTime());
    return {
      kind: 'authorization',
      index: 0,
      key: key!,
      hash,
      ...event,
      quantity: event.quantity ?? new Decimal(1),
      eventId: id,
      holdId: id,
      authorization: { estimatedQuantity: event.quantity ?? null, amount: amount ? toLedgerUnits(amount) : null, expiresAt: new Date(now.getTime() + ttl * 1000) },
      settles: null,
    };
  }

  /** The checks every entry shares (customer, meter, quantity, dimensions, values), then the event's context. */
  private async resolveEvent(
    check: Checker,
    cmd: { customerId?: string | null; externalCustomerId?: string | null; meterCode: string; dimensions?: unknown; values?: unknown },
    quantityPath: string,
    quantity: Decimal | null | undefined,
    now: Date,
    /** The event's time, from the customer's now (checked against it). */
    timeOf: (customerNow: Date) => Date,
    noQuantity = false,
  ) {
    if (!!cmd.customerId === !!cmd.externalCustomerId) check.fail('customerId', 'give exactly one of customerId and externalCustomerId');
    const meterCode = check.text('meterCode', cmd.meterCode, { max: 64, required: true });
    check.done();
    const [customer, meter] = await Promise.all([this.contexts.customer({ id: cmd.customerId, externalId: cmd.externalCustomerId }), this.contexts.meter(meterCode!)]);
    const checked = noQuantity ? undefined : checkMeterQuantity(check, quantityPath, quantity, meter);
    const dimensions = checkDimensions(check, 'dimensions', cmd.dimensions, meter);
    checkDistinctValue(check, 'dimensions', dimensions, meter);
    const values = checkValues(check, 'values', cmd.values);
    const at = timeOf(await this.contexts.nowOf(customer, now));
    check.done();
    return { ctx: await this.contexts.resolve(customer, meter, at), at, quantity: checked, dimensions, values };
  }

  /** A CloudEvent (POST /v1/events): mapped by its meter (cloud-events.pure.ts), problems named by the CloudEvent's paths. */
  async prepareCloudEvent(raw: unknown, index: number, now: Date): Promise<UsageJob> {
    const meter = await this.contexts.meter(cloudEventType(raw));
    const command = cloudEventCommand(raw as Record<string, unknown>, meter);
    return this.prepare(command, index, now).catch((err: unknown) => {
      throw err instanceof ValidationError ? cloudEventProblems(err, meter) : err;
    });
  }
}
