import type { Orm } from '../../db/orm.js';
import { isUniqueViolation } from '../../db/sql.js';
import { invalidCursor, type Page, type PageRequest } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { alreadyExists, AppError, ErrorCode, notFound } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { Decimal, formatDecimal } from '../../shared/money/decimal.js';
import { Checker, checkAmount } from '../../shared/validation.js';
import type { CurrencyService } from '../currencies/index.js';
import { type Meter, CODE_PATTERN, type MeterService } from '../meters/index.js';
import { BillingInterval, DunningPolicy, Plan, PlanCharge } from './plan.entity.js';
import { PlanRepository } from './plan.repository.js';

export interface PlanChargeCommand {
  meterCode: string;
  ruleSetKey: string;
  displayName?: string | null;
  groupBy?: string[] | null;
}

/** Dunning of a plan version: retry days (absent: DUNNING_RETRY_DAYS) and policy (absent: NONE). */
export interface PlanDunningCommand {
  retryDays?: number[] | null;
  policy?: DunningPolicy | null;
}

export interface CreatePlanCommand {
  code: string;
  name: string;
  description?: string | null;
  currency: string;
  billingInterval: BillingInterval;
  baseFee: Decimal;
  charges?: PlanChargeCommand[] | null;
  taxRateCode?: string | null;
  dunning?: PlanDunningCommand | null;
}

/** A new version: fields left out are copied from the latest version. The currency never changes. */
export interface CreatePlanVersionCommand {
  code: string;
  name?: string | null;
  description?: string | null;
  billingInterval?: BillingInterval | null;
  baseFee?: Decimal | null;
  charges?: PlanChargeCommand[] | null;
  taxRateCode?: string | null;
  dunning?: PlanDunningCommand | null;
}

/** A plan version with its charges and their meters, ready to show. */
export interface PlanView {
  plan: Plan;
  charges: Array<{ charge: PlanCharge; meter: Meter }>;
}

const MAX_CHARGES = 50;
const MAX_RETRY_DAYS = 20;
const MAX_RETRY_DAY = 365;

export class PlanService {
  private readonly byId = new Map<string, Promise<PlanView | null>>();

  constructor(
    private readonly orm: Orm,
    private readonly meters: MeterService,
    private readonly currencies: CurrencyService,
    private readonly clock: Clock,
    /** Whether a rule-set key names a cost book, which prices no usage and so is no plan's price. */
    private readonly isCostBook: (ruleSetKey: string) => boolean = () => false,
  ) {}

  async create(cmd: CreatePlanCommand): Promise<PlanView> {
    const check = new Checker();
    const code = check.text('code', cmd.code, { max: 64, required: true, pattern: CODE_PATTERN, hint: 'must be 1-64 letters, digits, "_", "." or "-"' });
    const currency = check.text('currency', cmd.currency, { max: 32, required: true });
    await this.currencies.checkKnown(check, 'currency', currency);
    const draft = await this.checkDefinition(check, cmd);
    check.done();
    if (await new PlanRepository(this.orm).findLatest(code!)) throw alreadyExists('plan', 'code', code!);
    return this.insertVersion(code!, 1, currency!, draft!);
  }

  async createVersion(cmd: CreatePlanVersionCommand): Promise<PlanView> {
    const latest = await this.latestView(cmd.code);
    const check = new Checker();
    const draft = await this.checkDefinition(check, {
      name: cmd.name ?? latest.plan.name,
      description: cmd.description === undefined ? latest.plan.description : cmd.description,
      billingInterval: cmd.billingInterval ?? latest.plan.billingInterval,
      baseFee: cmd.baseFee ?? new Decimal(latest.plan.baseFee),
      taxRateCode: cmd.taxRateCode === undefined ? latest.plan.taxRateCode : cmd.taxRateCode,
      dunning: cmd.dunning ?? { retryDays: latest.plan.dunningRetryDays, policy: latest.plan.dunningPolicy },
      charges:
        cmd.charges ??
        latest.charges.map(({ charge, meter }) => ({
          meterCode: meter.code,
          ruleSetKey: charge.ruleSetKey,
          displayName: charge.displayName,
          groupBy: charge.groupBy,
        })),
    });
    check.done();
    return this.insertVersion(latest.plan.code, latest.plan.version + 1, latest.plan.currency, draft!);
  }

  /** A given version, or the latest when version is absent; null when there is none. */
  async find(code: string, version?: number | null): Promise<PlanView | null> {
    const repo = new PlanRepository(this.orm);
    const plan = version ? await repo.findVersion(code, version) : await repo.findLatest(code);
    return plan ? (await this.withCharges(repo, [plan]))[0]! : null;
  }

  /** A plan version by id. Versions never change (the database refuses it), so they are kept. */
  findById(id: string): Promise<PlanView | null> {
    const kept = this.byId.get(id);
    if (kept) return kept;
    const loading = (async () => {
      const repo = new PlanRepository(this.orm);
      const plan = await repo.findById(id);
      return plan ? (await this.withCharges(repo, [plan]))[0]! : null;
    })();
    if (this.byId.size >= 10_000) this.byId.clear();
    this.byId.set(id, loading);
    // Only found versions are kept: a miss or a failure is asked again next time.
    loading.then((view) => view ?? this.byId.delete(id), () => this.byId.delete(id));
    return loading;
  }

  /** A page of a plan's versions, oldest first; the cursor key is the version number. */
  async versions(code: string, req: PageRequest): Promise<Page<PlanView>> {
    const after = req.after === undefined ? null : /^[1-9][0-9]{0,8}$/.test(req.after) ? Number(req.after) : undefined;
    if (after === undefined) throw invalidCursor();
    const repo = new PlanRepository(this.orm);
    const page = await repo.pageVersions(code, after, req.first);
    return { items: await this.withCharges(repo, page.items), hasNextPage: page.hasNextPage };
  }

  async listLatest(req: PageRequest): Promise<Page<PlanView>> {
    const repo = new PlanRepository(this.orm);
    const page = await repo.pageLatest(req);
    return { items: await this.withCharges(repo, page.items), hasNextPage: page.hasNextPage };
  }

  private async latestView(code: string): Promise<PlanView> {
    const view = await this.find(code);
    if (!view) throw notFound('plan', code);
    return view;
  }

  private async withCharges(repo: PlanRepository, plans: Plan[]): Promise<PlanView[]> {
    if (plans.length === 0) return [];
    const charges = await repo.chargesOf(plans.map((p) => p.id));
    const meters = new Map((await this.meters.findByIds([...new Set(charges.map((c) => c.meterId))])).map((m) => [m.id, m]));
    return plans.map((plan) => ({
      plan,
      charges: charges.filter((c) => c.planId === plan.id).map((charge) => ({ charge, meter: meters.get(charge.meterId)! })),
    }));
  }

  private async checkDefinition(
    check: Checker,
    cmd: {
      name: string;
      description?: string | null;
      billingInterval: BillingInterval;
      baseFee: Decimal;
      charges?: PlanChargeCommand[] | null;
      taxRateCode?: string | null;
      dunning?: PlanDunningCommand | null;
    },
  ) {
    const name = check.text('name', cmd.name, { max: 200, required: true });
    const description = check.text('description', cmd.description, { max: 2000 }) ?? null;
    if (!Object.values(BillingInterval).includes(cmd.billingInterval)) check.fail('billingInterval', 'is not a known interval');
    const baseFee = checkAmount(check, 'baseFee', cmd.baseFee, { zero: true });
    const taxRateCode = cmd.taxRateCode ?? null;
    if (taxRateCode !== null && !(await new PlanRepository(this.orm).taxRateExists(taxRateCode))) {
      check.fail('taxRateCode', `unknown tax rate ${JSON.stringify(taxRateCode)}: create it with createTaxRate`);
    }
    const charges = cmd.charges ?? [];
    if (charges.length > MAX_CHARGES) check.fail('charges', `must have at most ${MAX_CHARGES} entries`);
    const meters = new Map((await this.meters.findByCodes(charges.map((c) => c.meterCode).slice(0, MAX_CHARGES))).map((m) => [m.code, m]));
    const seen = new Set<string>();
    const checked = charges.map((c, i) => {
      const meter = meters.get(c.meterCode);
      if (!meter) check.fail(`charges.${i}.meterCode`, `unknown meter ${JSON.stringify(c.meterCode)}`);
      if (seen.has(c.meterCode)) check.fail(`charges.${i}.meterCode`, 'appears twice in this plan');
      seen.add(c.meterCode);
      const ruleSetKey = check.text(`charges.${i}.ruleSetKey`, c.ruleSetKey, { max: 64, required: true, pattern: CODE_PATTERN, hint: 'must be 1-64 letters, digits, "_", "." or "-"' });
      if (ruleSetKey && this.isCostBook(ruleSetKey)) {
        check.fail(`charges.${i}.ruleSetKey`, `${JSON.stringify(ruleSetKey)} is a cost book (purpose "cost"): it says what serving usage costs and never prices it; name a price rule set`);
      }
      const displayName = check.text(`charges.${i}.displayName`, c.displayName, { max: 200 }) ?? null;
      const groupBy = c.groupBy ?? [];
      groupBy.forEach((d, j) => {
        if (meter && !meter.dimensions.includes(d)) check.fail(`charges.${i}.groupBy.${j}`, `${JSON.stringify(d)} is not a dimension of meter ${meter.code}`);
      });
      return { meter, ruleSetKey, displayName, groupBy };
    });
    const dunning = checkDunning(check, cmd.dunning ?? {});
    if (!check.ok) return undefined;
    return { name: name!, description, billingInterval: cmd.billingInterval, baseFee: formatDecimal(baseFee!), taxRateCode, charges: checked, dunning };
  }

  private async insertVersion(
    code: string,
    version: number,
    currency: string,
    draft: NonNullable<Awaited<ReturnType<PlanService['checkDefinition']>>>,
  ): Promise<PlanView> {
    const now = this.clock.now();
    const plan = Object.assign(new Plan(), {
      id: newId(now.getTime()),
      code,
      version,
      name: draft.name,
      description: draft.description,
      currency,
      billingInterval: draft.billingInterval,
      baseFee: draft.baseFee,
      taxRateCode: draft.taxRateCode,
      dunningRetryDays: draft.dunning.retryDays,
      dunningPolicy: draft.dunning.policy,
      createdAt: now,
    });
    const charges = draft.charges.map((c, position) =>
      Object.assign(new PlanCharge(), {
        id: newId(now.getTime()),
        planId: plan.id,
        meterId: c.meter!.id,
        ruleSetKey: c.ruleSetKey!,
        displayName: c.displayName,
        groupBy: c.groupBy,
        position,
      }),
    );
    try {
      await new PlanRepository(this.orm).insert(plan, charges);
    } catch (err) {
      if (isUniqueViolation(err, 'plan_code_version_key')) {
        throw version === 1
          ? alreadyExists('plan', 'code', code)
          : new AppError(ErrorCode.CONFLICT, `another version of plan ${code} was created at the same time; retry`);
      }
      throw err;
    }
    return { plan, charges: charges.map((charge, i) => ({ charge, meter: draft.charges[i]!.meter! })) };
  }
}

/** Retry days: at most 20 whole days from 1 to 365, increasing (none: the first failure is the last). */
function checkDunning(check: Checker, d: PlanDunningCommand): { retryDays: number[] | null; policy: DunningPolicy } {
  const days = d.retryDays ?? null;
  if (days) {
    if (days.length > MAX_RETRY_DAYS) check.fail('dunning.retryDays', `must have at most ${MAX_RETRY_DAYS} days`);
    days.forEach((day, i) => {
      if (!Number.isInteger(day) || day < 1 || day > MAX_RETRY_DAY) check.fail(`dunning.retryDays.${i}`, `must be a whole number of days from 1 to ${MAX_RETRY_DAY}`);
      else if (i > 0 && day <= days[i - 1]!) check.fail(`dunning.retryDays.${i}`, 'must be later than the day before it');
    });
  }
  const policy = d.policy ?? DunningPolicy.NONE;
  if (!Object.values(DunningPolicy).includes(policy)) check.fail('dunning.policy', 'must be SUSPEND or NONE');
  return { retryDays: days, policy };
}
