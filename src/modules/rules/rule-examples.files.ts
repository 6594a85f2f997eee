import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompiledRuleSet } from '../../rating/compile.js';
import { rateAggregate, type AggregateRating } from '../../rating/rate-aggregate.js';
import { rateEvent } from '../../rating/rate-event.js';
import { RuleBook } from '../../rating/rule-book.js';
import type { EventRating, MeterAggregation } from '../../rating/types.js';

const AGGREGATIONS: MeterAggregation[] = ['COUNT', 'SUM', 'MAX', 'UNIQUE_COUNT', 'LATEST', 'RECURRING'];
import { ValidationError } from '../../shared/errors.js';
import { Decimal, formatDecimal, parseDecimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import { Checker } from '../../shared/validation.js';
import { checkDimensions, checkQuantity, checkValues } from '../usage/index.js';
import { readRuleFiles, type RuleFile } from './rule-set.files.js';

/** An event as rule examples and `billing rules eval` write it. */
export interface ExampleEvent {
  meter: string;
  /** How the meter aggregates (SUM when absent); UNIQUE_COUNT also names the dimension it counts in `property`. */
  aggregation?: MeterAggregation;
  property?: string;
  quantity: string;
  timestamp?: string;
  dimensions?: Record<string, unknown>;
  values?: Record<string, unknown>;
}

export interface ExampleCase {
  name: string;
  ruleSet?: string;
  event: ExampleEvent;
  customer?: { id?: string; externalId?: string; metadata?: Record<string, string> };
  plan?: { code: string; version: number } | null;
  /** Period-to-date quantity before the event; every counter starts there unless `counters` says otherwise. */
  periodQuantity?: string;
  counters?: Record<string, string>;
  aggregate?: boolean;
  /** With aggregate: the period's number of events. */
  events?: number;
  expect: {
    version?: number;
    refusal?: string | null;
    total?: string;
    charged?: string;
    firedRules?: string[];
    lines?: Array<{ component: string; amount?: string; charged?: string; quantity?: string; tiers?: Array<{ tier: number; quantity: string; amount: string }> }>;
  };
}

export interface Evaluation {
  ruleSet: CompiledRuleSet;
  rating: EventRating | AggregateRating;
}

/** Builds a rule book from the valid files of a folder (or one file), without a database. */
export async function bookFromFiles(dirOrFile: string): Promise<{ book: RuleBook; files: RuleFile[] }> {
  const files = await readRuleFiles(dirOrFile, { mustExist: true });
  return { book: new RuleBook(files.flatMap((f) => (f.result.ok ? [f.result.compiled] : []))), files };
}

/** Rates an example case (or an `eval` event) with the version in force at its timestamp. */
export async function evaluate(book: RuleBook, c: Omit<ExampleCase, 'name' | 'expect'>): Promise<Evaluation> {
  const check = new Checker();
  // A RECURRING meter's event sets its level, which may be 0.
  const quantity = checkQuantity(check, 'event.quantity', parseDecimal(String(c.event.quantity ?? '')) ?? null, c.event.aggregation === 'RECURRING');
  const dimensions = checkDimensions(check, 'event.dimensions', c.event.dimensions, null);
  const values = checkValues(check, 'event.values', c.event.values);
  const timestamp = new Date(c.event.timestamp ?? Date.now());
  if (Number.isNaN(timestamp.getTime())) check.fail('event.timestamp', 'is not an ISO 8601 instant');
  const before = c.periodQuantity === undefined ? new Decimal(0) : parseDecimal(c.periodQuantity);
  if (!before || before.isNegative()) check.fail('periodQuantity', 'must be a non-negative decimal');
  const aggregation = c.event.aggregation ?? 'SUM';
  if (!AGGREGATIONS.includes(aggregation)) check.fail('event.aggregation', `must be one of ${AGGREGATIONS.join(', ')}`);
  if (aggregation === 'UNIQUE_COUNT' && (typeof c.event.property !== 'string' || dimensions[c.event.property] === undefined)) {
    check.fail('event.property', 'a UNIQUE_COUNT meter names the dimension it counts, and the event carries it');
  }
  checkCustomerAndPlan(check, c.customer, c.plan);
  if (c.aggregate && (!Number.isSafeInteger(c.events) || c.events! < 0)) check.fail('events', 'is required with an aggregate: the number of events in the period');
  check.done();
  const keys = book.keys();
  const key = c.ruleSet ?? (keys.length === 1 ? keys[0] : undefined);
  if (!key) throw new ValidationError([{ path: 'ruleSet', message: `name the rule set to use; this folder has ${keys.join(', ') || 'none'}` }]);
  const ruleSet = book.resolve(key, timestamp);
  if (!ruleSet) throw new ValidationError([{ path: 'ruleSet', message: `no version of ${key} is in force at ${timestamp.toISOString()}` }]);
  const facts = {
    event: { meter: c.event.meter, quantity: quantity!, timestamp, dimensions, values },
    customer: { id: c.customer?.id ?? 'example-customer', externalId: c.customer?.externalId ?? 'example', metadata: c.customer?.metadata ?? {} },
    plan: c.plan ?? null,
  };
  if (c.aggregate) return { ruleSet, rating: await rateAggregate(ruleSet, { ...facts, events: c.events! }) };
  const counters = new Map(Object.entries(c.counters ?? {}).map(([k, v]) => [k, new Decimal(v)]));
  // Counters not named stand at the period quantity; a UNIQUE_COUNT value not named is new, and a
  // rule set's maximum-spend counter not named has charged nothing yet.
  const lookup = (k: string) => counters.get(k) ?? (k.startsWith('seen:') || k.startsWith('spend:') ? undefined : before!);
  const meter = aggregation === 'UNIQUE_COUNT' ? { aggregation, distinctValue: dimensions[c.event.property!]! } : { aggregation };
  return { ruleSet, rating: await rateEvent(ruleSet, { ...facts, period: { quantity: before!, counters: { get: lookup }, ...calendarMonth(timestamp) }, meter }) };
}

/** The calendar month (UTC) of an instant: the billing period examples and `rules eval` rate RECURRING events in. */
export function calendarMonth(at: Date): { start: Date; end: Date } {
  return { start: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)), end: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)) };
}

/** The customer and plan facts a case (or `rules eval --customer --plan`) gives, in the shapes rating reads. */
function checkCustomerAndPlan(check: Checker, customer: unknown, plan: unknown): void {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (customer !== undefined) {
    if (!isObject(customer)) check.fail('customer', 'must be an object: {"id", "externalId", "metadata"}');
    else {
      for (const k of Object.keys(customer)) if (!['id', 'externalId', 'metadata'].includes(k)) check.fail(`customer.${k}`, 'is not a customer fact: use id, externalId or metadata');
      for (const k of ['id', 'externalId'] as const) if (customer[k] !== undefined && typeof customer[k] !== 'string') check.fail(`customer.${k}`, 'must be a string');
      const metadata = customer.metadata;
      if (metadata !== undefined && (!isObject(metadata) || Object.values(metadata).some((v) => typeof v !== 'string'))) check.fail('customer.metadata', 'must map names to strings');
    }
  }
  if (plan !== undefined && plan !== null) {
    if (!isObject(plan)) check.fail('plan', 'must be an object: {"code", "version"}');
    else {
      if (typeof plan.code !== 'string' || plan.code === '') check.fail('plan.code', 'must be the plan code, a string');
      if (!Number.isSafeInteger(plan.version) || (plan.version as number) < 1) check.fail('plan.version', 'must be the plan version, a positive integer');
    }
  }
}

/** Differences between what a case expects and what rating produced; empty when it passes. */
export function compareCase(c: ExampleCase, e: Evaluation): string[] {
  const diffs: string[] = [];
  const want = c.expect;
  const differ = (what: string, expected: unknown, actual: unknown) => {
    if (JSON.stringify(expected) !== JSON.stringify(actual)) diffs.push(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  };
  if (want.version !== undefined) differ('version', want.version, e.ruleSet.ref.version);
  differ('refusal', want.refusal ?? null, e.rating.refusal?.code ?? null);
  if (want.firedRules) differ('firedRules', want.firedRules, e.rating.firedRules);
  const lines = e.rating.lines.map((l) => ({
    component: l.componentId,
    quantity: formatDecimal(l.quantity),
    amount: l.amount === null ? null : formatDecimal(l.amount),
    charged: l.units === null ? null : formatLedgerUnits(l.units),
    tiers: l.tiers.map((t) => ({ tier: t.tier, quantity: formatDecimal(t.quantity), amount: formatDecimal(t.amount) })),
  }));
  if (want.total !== undefined) {
    const total = lines.reduce((s, l) => s.plus(l.amount ?? 0), new Decimal(0));
    differ('total', formatDecimal(new Decimal(want.total)), formatDecimal(total));
  }
  if (want.charged !== undefined) {
    const charged = lines.reduce((s, l) => s.plus(l.charged ?? 0), new Decimal(0));
    differ('charged', formatDecimal(new Decimal(want.charged)), formatDecimal(charged));
  }
  if (want.lines) {
    differ('line components', want.lines.map((l) => l.component), lines.map((l) => l.component));
    want.lines.forEach((w, i) => {
      const got = lines.find((l) => l.component === w.component);
      if (!got) return;
      for (const field of ['amount', 'charged', 'quantity'] as const) {
        if (w[field] !== undefined) differ(`lines[${i}].${field}`, formatDecimal(new Decimal(w[field]!)), got[field]);
      }
      if (w.tiers) differ(`lines[${i}].tiers`, w.tiers.map((t) => ({ ...t, quantity: formatDecimal(new Decimal(t.quantity)), amount: formatDecimal(new Decimal(t.amount)) })), got.tiers);
    });
  }
  return diffs;
}

export interface ExampleResult {
  file: string;
  name: string;
  diffs: string[];
}

/** Runs every `<key>/examples.json` under a folder against the rule files beside it. */
export async function runExamples(dir: string): Promise<ExampleResult[]> {
  const { book } = await bookFromFiles(dir);
  const results: ExampleResult[] = [];
  const folders = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const key of folders) {
    const file = path.join(key, 'examples.json');
    const text = await readFile(path.join(dir, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const { cases } = JSON.parse(text) as { cases: ExampleCase[] };
    for (const c of cases) {
      try {
        results.push({ file, name: c.name, diffs: compareCase(c, await evaluate(book, { ruleSet: key, ...c })) });
      } catch (err) {
        results.push({ file, name: c.name, diffs: [`could not be rated: ${(err as Error).message}`] });
      }
    }
  }
  return results;
}
