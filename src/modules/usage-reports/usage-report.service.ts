import type { SqlPool } from '../../db/sql.js';
import type { Clock } from '../../shared/clock.js';
import { isUuid } from '../../shared/ids.js';
import { Decimal, RoundingMode } from '../../shared/money/decimal.js';
import { fromLedgerUnits } from '../../shared/money/units.js';
import { Checker } from '../../shared/validation.js';
import type { Customer, CustomerService } from '../customers/index.js';
import { Aggregation, CODE_PATTERN } from '../meters/index.js';
import type { Period, SubscriptionService } from '../subscriptions/index.js';
import { LimitMode, type Wallet, type WalletService } from '../wallets/index.js';
import { binSpan, bucketBounds, Granularity } from './usage-buckets.pure.js';
import { elapsedShare, projectSpend } from './usage-projection.pure.js';
import { UsageReportRepository, type RangeRow, type UsageDimensionFilter } from './usage-report.repository.js';

export const MAX_GROUP_DIMENSIONS = 4;
export const MAX_METER_FILTER = 50;
export const MAX_DIMENSION_FILTERS = 4;
export const MAX_FILTER_VALUES = 50;
export const MAX_TOP_MODELS = 50;
/** The dimension top models are ranked by. */
export const MODEL_DIMENSION = 'model';

export interface UsageReportCommand {
  customerId: string;
  from: Date;
  to: Date;
  granularity: Granularity;
  groupByMeter: boolean;
  dimensions: string[];
  meterCodes: string[] | null;
  /** Only events matching every filter (by dimension value). */
  filters?: UsageDimensionFilter[];
}

/** Sums of committed usage; amount exact, charged in ledger units. */
export interface UsageSums {
  currency: string;
  amount: Decimal;
  charged: bigint;
  events: bigint;
}

export interface UsageGroup extends UsageSums {
  /** The group's meter; null when the group holds several (the report is not grouped by meter). */
  meterCode: string | null;
  aggregation: Aggregation | null;
  dimensions: Array<{ key: string; value: string | null }>;
  /** The meter's aggregate over the bucket; null when the group spans several meters. */
  quantity: Decimal | null;
}

export interface UsageReport {
  customer: Customer;
  from: Date;
  to: Date;
  granularity: Granularity;
  buckets: Array<{ start: Date; end: Date; groups: UsageGroup[] }>;
  totals: UsageSums[];
}

export interface WalletStanding {
  wallet: Wallet;
  held: bigint;
  /** The lowest balance the wallet may reach: 0 (HARD), -overdraftLimit (OVERDRAFT), none (SOFT). */
  floor: bigint | null;
  /** available - floor: what more usage may spend now. */
  headroom: bigint | null;
  /** How much of the overdraft the balance uses (OVERDRAFT wallets). */
  overdraftUsed: bigint | null;
}

export interface CurrentPeriodView {
  customer: Customer;
  period: Period;
  asOf: Date;
  elapsed: Decimal;
  planCode: string | null;
  spend: Array<UsageSums & { projected: Decimal }>;
  spendingCap: { currency: string; cap: bigint; used: bigint } | null;
  wallets: WalletStanding[];
  topModels: Array<UsageSums & { model: string }>;
}

/** Held amounts per wallet of a customer (from the reservation store). */
export type HeldAmounts = (customerId: string) => Promise<Map<string, bigint>>;

/** Usage over time and the current billing period of a customer, from the usage rollups. */
export class UsageReportService {
  private readonly repo: UsageReportRepository;

  constructor(
    sql: SqlPool,
    private readonly customers: CustomerService,
    private readonly subscriptions: SubscriptionService,
    private readonly wallets: WalletService,
    private readonly held: HeldAmounts,
    private readonly clock: Clock,
  ) {
    this.repo = new UsageReportRepository(sql);
  }

  async usage(cmd: UsageReportCommand): Promise<UsageReport> {
    const check = new Checker();
    this.checkCustomerId(check, cmd.customerId);
    if (cmd.from.getTime() >= cmd.to.getTime()) check.fail('from', 'must be before to');
    if (!Object.values(Granularity).includes(cmd.granularity)) check.fail('granularity', 'must be HOUR, DAY or MONTH');
    if (cmd.dimensions.length > MAX_GROUP_DIMENSIONS) check.fail('groupBy.dimensions', `must have at most ${MAX_GROUP_DIMENSIONS} keys`);
    cmd.dimensions.forEach((d, i) => {
      if (!CODE_PATTERN.test(d)) check.fail(`groupBy.dimensions.${i}`, 'is not a dimension name');
      else if (cmd.dimensions.indexOf(d) !== i) check.fail(`groupBy.dimensions.${i}`, `repeats ${JSON.stringify(d)}`);
    });
    if (cmd.meterCodes && cmd.meterCodes.length > MAX_METER_FILTER) check.fail('meterCodes', `must have at most ${MAX_METER_FILTER} codes`);
    checkFilters(check, cmd.filters ?? []);
    check.done();
    const customer = await this.customers.get({ id: cmd.customerId });
    const bounds = bucketBounds(cmd.from, cmd.to, cmd.granularity, customer.timezone);
    const rows = await this.repo.aggregate({ customerId: customer.id, from: cmd.from, to: cmd.to, ...binSpan(cmd.from, cmd.to), bounds, dimensions: cmd.dimensions, meterCodes: cmd.meterCodes, filters: cmd.filters ?? [] });
    const groups = mergeRows(rows, cmd.dimensions, cmd.groupByMeter);
    const buckets = bounds.slice(1).map((end, i) => ({ start: bounds[i]!, end, groups: groups.get(i + 1) ?? [] }));
    return { customer, from: cmd.from, to: cmd.to, granularity: cmd.granularity, buckets, totals: totalsOf([...groups.values()].flat()) };
  }

  async currentPeriod(customerId: string, topModels: number): Promise<CurrentPeriodView> {
    const check = new Checker();
    this.checkCustomerId(check, customerId);
    check.integer('topModels', topModels, { min: 0, max: MAX_TOP_MODELS });
    check.done();
    const customer = await this.customers.get({ id: customerId });
    const asOf = await this.customers.nowOf(customer);
    const active = await this.subscriptions.activeAt(customer.id, asOf);
    const period = this.subscriptions.periodOf(active, customer.timezone, asOf);
    const [spendRows, wallets, held, modelRows] = await Promise.all([
      this.repo.periodSpend(customer.id, period.start),
      this.wallets.listForCustomer(customer.id),
      this.held(customer.id),
      topModels === 0 ? [] : this.repo.aggregate({ customerId: customer.id, from: period.start, to: period.end, ...binSpan(period.start, period.end), bounds: [period.start, period.end], dimensions: [MODEL_DIMENSION], meterCodes: null }),
    ]);
    const spend = spendRows.map((r) => ({ currency: r.currency, amount: new Decimal(r.amount), charged: BigInt(r.charged), events: BigInt(r.events) }));
    if (!spend.some((s) => s.currency === customer.currency)) spend.unshift({ currency: customer.currency, amount: new Decimal(0), charged: 0n, events: 0n });
    const capUsed = spend.find((s) => s.currency === customer.currency)!.charged;
    return {
      customer,
      period,
      asOf,
      elapsed: elapsedShare(period, asOf),
      planCode: active?.plan.plan.code ?? null,
      spend: spend.map((s) => ({ ...s, projected: projectSpend(fromLedgerUnits(s.charged), period, asOf, active?.subscription.billingAnchor ?? null) })),
      spendingCap: customer.spendingCap === null ? null : { currency: customer.currency, cap: customer.spendingCap, used: capUsed },
      wallets: wallets.map((w) => walletStanding(w, held.get(w.id) ?? 0n)),
      topModels: rankModels(modelRows, topModels),
    };
  }

  private checkCustomerId(check: Checker, customerId: string): void {
    if (!isUuid(customerId)) check.fail('customerId', 'must be a customer id');
  }
}

/** Filters by dimension value: few, on dimension names, each with 1 to MAX_FILTER_VALUES values of at most 255 characters. */
export function checkFilters(check: Checker, filters: UsageDimensionFilter[]): void {
  if (filters.length > MAX_DIMENSION_FILTERS) check.fail('filter', `must have at most ${MAX_DIMENSION_FILTERS} filters`);
  filters.forEach((f, i) => {
    if (!CODE_PATTERN.test(f.key)) check.fail(`filter.${i}.key`, 'is not a dimension name');
    else if (filters.findIndex((g) => g.key === f.key) !== i) check.fail(`filter.${i}.key`, `repeats ${JSON.stringify(f.key)}`);
    if (f.values.length === 0 || f.values.length > MAX_FILTER_VALUES) check.fail(`filter.${i}.values`, `must have 1 to ${MAX_FILTER_VALUES} values`);
    else if (f.values.some((v) => v.length > 255)) check.fail(`filter.${i}.values`, 'values are at most 255 characters');
  });
}

/** A meter's aggregate over one bucket, by its type (see the README: "Usage queries"). */
export function quantityOf(row: RangeRow): Decimal {
  switch (row.aggregation) {
    case Aggregation.COUNT:
      return new Decimal(row.events);
    case Aggregation.SUM:
      return new Decimal(row.quantity);
    case Aggregation.MAX:
      return new Decimal(row.maxQuantity);
    case Aggregation.UNIQUE_COUNT:
      return new Decimal(row.uniques);
    case Aggregation.LATEST:
    case Aggregation.RECURRING:
      return new Decimal(row.latest ?? '0');
  }
}

/** Rows per bucket and group; without grouping by meter, the meters of a group are added up (no meter or quantity when several). */
function mergeRows(rows: RangeRow[], dimensions: string[], byMeter: boolean): Map<number, UsageGroup[]> {
  const byKey = new Map<string, UsageGroup & { bucket: number }>();
  for (const r of rows) {
    const key = JSON.stringify([r.bucket, byMeter ? r.meterCode : null, r.currency, r.values]);
    const sums = { amount: new Decimal(r.amount), charged: BigInt(r.charged), events: BigInt(r.events) };
    const g = byKey.get(key);
    if (!g) {
      const dims = dimensions.map((key, i) => ({ key, value: r.values[i] ?? null }));
      byKey.set(key, { bucket: r.bucket, meterCode: r.meterCode, aggregation: r.aggregation, currency: r.currency, dimensions: dims, quantity: quantityOf(r), ...sums });
      continue;
    }
    // Only reached without grouping by meter: quantities of different meters do not add up.
    Object.assign(g, { meterCode: null, aggregation: null, quantity: null, amount: g.amount.plus(sums.amount), charged: g.charged + sums.charged, events: g.events + sums.events });
  }
  const out = new Map<number, UsageGroup[]>();
  for (const { bucket, ...g } of byKey.values()) {
    out.set(bucket, [...(out.get(bucket) ?? []), g]);
  }
  return out;
}

function totalsOf(groups: UsageSums[]): UsageSums[] {
  const totals = new Map<string, UsageSums>();
  for (const g of groups) {
    const t = totals.get(g.currency) ?? { currency: g.currency, amount: new Decimal(0), charged: 0n, events: 0n };
    totals.set(g.currency, { currency: g.currency, amount: t.amount.plus(g.amount), charged: t.charged + g.charged, events: t.events + g.events });
  }
  return [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}

/** Spend per model and currency, most charged first; events without a model are left out. */
function rankModels(rows: RangeRow[], limit: number): Array<UsageSums & { model: string }> {
  const groups = [...mergeRows(rows, [MODEL_DIMENSION], false).values()].flat();
  return groups
    .filter((g) => g.dimensions[0]!.value !== null)
    .map((g) => ({ model: g.dimensions[0]!.value!, currency: g.currency, amount: g.amount, charged: g.charged, events: g.events }))
    .sort((a, b) => (a.charged === b.charged ? a.model.localeCompare(b.model) : a.charged > b.charged ? -1 : 1))
    .slice(0, limit);
}

function walletStanding(wallet: Wallet, held: bigint): WalletStanding {
  const floor = wallet.limitMode === LimitMode.HARD ? 0n : wallet.limitMode === LimitMode.OVERDRAFT ? -wallet.overdraftLimit : null;
  const overdraftUsed = wallet.limitMode === LimitMode.OVERDRAFT ? (wallet.balance < 0n ? -wallet.balance : 0n) : null;
  return { wallet, held, floor, headroom: floor === null ? null : wallet.balance - held - floor, overdraftUsed };
}

/** `part` as a percent of `whole`, to two decimals (half up); null when whole is zero. */
export function percentOf(part: bigint, whole: bigint): Decimal | null {
  if (whole === 0n) return null;
  return new Decimal(part.toString()).times(100).div(whole.toString()).toDecimalPlaces(2, RoundingMode.HALF_UP);
}
