import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeLines, invoiceTotals, roundMoney, type ComposeOptions, type ComposedLine } from '../../../src/modules/invoices/invoice-compose.pure.js';
import { LineKind, type BillingItem } from '../../../src/modules/invoices/invoice.record.js';
import { prepaidItems } from '../../../src/modules/invoices/prepaid-items.pure.js';
import { usageItems, type UsageGroup } from '../../../src/modules/invoices/usage-items.pure.js';
import { compileRuleSet, type CompiledRuleSet } from '../../../src/rating/compile.js';
import { contentHash } from '../../../src/rating/canonical-json.js';
import { rateEvent } from '../../../src/rating/rate-event.js';
import type { RuleDefinition, RuleSetDefinition } from '../../../src/rating/types.js';
import { validateRuleSetText } from '../../../src/rating/validate.js';
import { Decimal } from '../../../src/shared/money/decimal.js';

/**
 * Thousands of generated invoices: random rule sets (prices finer than a cent, graduated and
 * volume tiers, discounts and markups, minimums), random events rated by the real rating core,
 * random prepaid and postpaid mixes, base fees, exclusive and inclusive tax, currencies with 0,
 * 2 and 3 decimals and both rounding modes. The invoice's rounded figures must add up.
 */

const period = { start: new Date('2026-03-01T00:00:00Z'), end: new Date('2026-04-01T00:00:00Z') };
const MODELS = ['m1', 'm2', 'm3'];

/** A decimal string with up to `places` decimals, from an integer and a scale. */
const decimal = (max: number, places: number) => fc.tuple(fc.integer({ min: 0, max }), fc.integer({ min: 0, max: places })).map(([n, p]) => new Decimal(n).div(new Decimal(10).pow(p)).toFixed());
const price = decimal(5_000_000, 9); // up to 5,000,000 × 1e-9 .. 5,000,000

const tiers = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.array(price, { minLength: 3, maxLength: 3 }), fc.array(decimal(500, 2), { minLength: 3, maxLength: 3 }), fc.boolean()).map(([n, prices, fees, withFees]) => {
  const bounds = [1000, 50_000, 400_000];
  return Array.from({ length: n }, (_, i) => ({ upTo: i === n - 1 ? null : String(bounds[i]), unitPrice: prices[i]!, ...(withFees && i > 0 ? { flatFee: fees[i] } : {}) }));
});

const chargeParams = fc.oneof(
  price.map((unitPrice) => ({ model: 'per_unit' as const, unitPrice })),
  tiers.map((t) => ({ model: 'graduated' as const, tiers: t })),
  tiers.map((t) => ({ model: 'volume' as const, tiers: t })),
);

const adjustment = fc.option(
  fc.oneof(
    decimal(1000, 1).map((percent) => ({ kind: 'discount' as const, percent: new Decimal(percent).greaterThan(100) ? '100' : percent })),
    decimal(500, 2).map((percent) => ({ kind: 'markup' as const, percent })),
  ),
  { nil: null },
);

const ruleSetArb = fc.record({
  charges: fc.array(chargeParams, { minLength: 1, maxLength: 3 }),
  adjustment,
  minimumSpend: fc.option(decimal(5000, 2), { nil: null }),
});

const scenario = fc.record({
  rules: ruleSetArb,
  events: fc.array(fc.record({ model: fc.constantFrom(...MODELS), quantity: decimal(200_000, 3), paid: fc.boolean() }), { minLength: 1, maxLength: 25 }),
  allPaid: fc.boolean(),
  grantShare: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
  baseFee: fc.option(decimal(100_000, 2), { nil: null }),
  groupBy: fc.boolean(),
  exponent: fc.constantFrom(0, 2, 3),
  rounding: fc.constantFrom('HALF_UP' as const, 'HALF_EVEN' as const),
  tax: fc.option(fc.record({ percent: decimal(3000, 2), inclusive: fc.boolean() }), { nil: null }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function buildRuleSet(s: Scenario['rules']): CompiledRuleSet {
  const rules: RuleDefinition[] = s.charges.map((params, i) => ({
    name: `charge ${i}`,
    conditions: { all: [{ fact: 'event', path: '$.dimensions.model', operator: i === s.charges.length - 1 ? 'in' : 'equal', value: i === s.charges.length - 1 ? MODELS.slice(i) : MODELS[i]! }] },
    event: { type: 'charge', params: { id: `c${i}`, ...params } as never },
  }));
  if (s.adjustment) rules.push({ name: 'adjust m1', conditions: { all: [{ fact: 'event', path: '$.dimensions.model', operator: 'equal', value: 'm1' }] }, event: { type: 'adjustment', params: { id: 'adj', ...s.adjustment } } });
  const definition: RuleSetDefinition = { key: 'gen', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', currency: 'XXX', rules, ...(s.minimumSpend ? { minimumSpend: s.minimumSpend } : {}) };
  const validated = validateRuleSetText(JSON.stringify(definition));
  if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
  return compileRuleSet(validated.definition, contentHash(validated.definition));
}

interface Rated {
  groups: UsageGroup[];
  charged: bigint;
  paid: bigint;
}

/** Rates the events in order, then groups their lines as the period-usage statement does. */
async function rateAll(rs: CompiledRuleSet, s: Scenario): Promise<Rated> {
  const counters = new Map<string, Decimal>();
  const groups = new Map<string, UsageGroup>();
  let charged = 0n;
  let paid = 0n;
  for (const e of s.events) {
    if (new Decimal(e.quantity).isZero()) continue;
    const rating = await rateEvent(rs, {
      event: { meter: 'tokens', quantity: new Decimal(e.quantity), timestamp: new Date('2026-03-02T00:00:00Z'), dimensions: { model: e.model }, values: {} },
      customer: { id: 'c', externalId: 'c', metadata: {} },
      plan: null,
      period: { quantity: new Decimal(0), counters: { get: (k) => counters.get(k) } },
    });
    if (rating.refusal) continue;
    charged += rating.units;
    if (s.allPaid || e.paid) paid += rating.units;
    for (const l of rating.lines) {
      if (l.counter) counters.set(l.counter.key, l.counter.before.plus(l.counter.delta));
      const dims: Record<string, string> = s.groupBy ? { model: e.model } : {};
      const key = JSON.stringify([dims, l.componentId, l.provisional, l.counter?.key ?? null, l.adjustments.map((a) => a.id)]);
      const g: UsageGroup = groups.get(key) ?? {
        meterCode: 'tokens', ruleSetKey: rs.ref.key, ruleSetVersion: rs.ref.version, ruleSetHash: rs.ref.hash, dimensions: dims, component: l.componentId,
        provisional: l.provisional, counterKey: l.counter?.key ?? null, adjustments: l.adjustments.map((a) => a.id), events: 0,
        quantity: new Decimal(0), amount: new Decimal(0), base: new Decimal(0), counted: new Decimal(0), tiers: [],
      };
      g.events++;
      g.quantity = g.quantity.plus(l.quantity);
      g.amount = g.amount.plus(l.amount);
      g.base = g.base.plus(l.base);
      g.counted = g.counted.plus(l.counter?.delta ?? 0);
      for (const t of l.tiers) {
        const prior = g.tiers.find((x) => x.tier === t.tier && x.unitPrice.equals(t.unitPrice));
        if (prior) {
          prior.quantity = prior.quantity.plus(t.quantity);
          prior.amount = prior.amount.plus(t.amount);
          prior.flatFee = prior.flatFee.plus(t.flatFee);
        } else g.tiers.push({ ...t });
      }
      groups.set(key, g);
    }
  }
  return { groups: [...groups.values()], charged, paid };
}

async function invoiceOf(s: Scenario) {
  const rs = buildRuleSet(s.rules);
  const rated = await rateAll(rs, s);
  const options: ComposeOptions = { exponent: s.exponent, rounding: s.rounding, taxRate: s.tax && { code: 'T', name: 'Tax', percent: s.tax.percent, inclusive: s.tax.inclusive } };
  const round = (x: Decimal) => roundMoney(x, options);
  const items: BillingItem[] = await usageItems({
    period,
    groups: rated.groups,
    latest: [],
    charges: [{ meterCode: 'tokens', meterName: 'Tokens', aggregation: 'SUM', ruleSetKey: rs.ref.key, displayName: null, groupBy: s.groupBy ? ['model'] : [] }],
    rules: { version: () => rs, resolve: () => rs },
    customer: { id: 'c', externalId: 'c', metadata: {} },
    plan: null,
    round,
  });
  if (s.baseFee) {
    items.unshift({ kind: LineKind.BASE_FEE, key: 'fee:s', periodStart: period.start, periodEnd: period.end, description: 'fee', meterCode: null, dimensions: null, quantity: new Decimal(1), amount: new Decimal(s.baseFee).times(22).div(31), taxable: true, tiers: [], adjustments: [], details: {} });
  }
  const grant = s.grantShare === null ? 0n : (rated.paid * BigInt(s.grantShare)) / 100n;
  const paid = [{ kind: 'MAIN' as const, units: rated.paid - grant }, { kind: 'GRANT' as const, units: grant }];
  items.push(...prepaidItems(period, items, { paid, charged: rated.charged }, round));
  const lines = composeLines(items, new Map(), [], options);
  return { lines, totals: invoiceTotals(lines, options), options, rated, round };
}

const total = (lines: ComposedLine[], f: (l: ComposedLine) => boolean) => lines.filter(f).reduce((s, l) => s.plus(l.rounded), new Decimal(0));

describe('rounded invoice figures add up (property)', () => {
  it('on thousands of generated invoices', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { lines, totals, options, rated, round } = await invoiceOf(s);
        const places = (x: Decimal) => x.decimalPlaces() <= options.exponent;
        // Every figure is at the currency's exponent.
        for (const l of lines) expect(places(l.rounded)).toBe(true);
        for (const x of [totals.subtotal, totals.tax, totals.total, totals.prepaid, totals.amountDue]) expect(places(new Decimal(x))).toBe(true);

        // Lines rounded on their own are their exact amount rounded once.
        for (const l of lines) if (l.kind === LineKind.USAGE || l.kind === LineKind.BASE_FEE || l.kind === LineKind.ALLOWANCE) expect(l.rounded.equals(round(l.precise))).toBe(true);

        // Totals are sums of rounded lines; tax comes from the rounded taxable sum by the documented rule.
        const charges = total(lines, (l) => l.kind !== LineKind.PREPAID);
        const taxable = total(lines, (l) => l.kind !== LineKind.PREPAID && l.taxable);
        const prepaid = total(lines, (l) => l.kind === LineKind.PREPAID);
        expect(new Decimal(totals.subtotal).equals(charges)).toBe(true);
        expect(new Decimal(totals.prepaid).equals(prepaid)).toBe(true);
        let tax = new Decimal(0);
        if (s.tax) {
          const rate = new Decimal(s.tax.percent).div(100);
          tax = round(s.tax.inclusive ? taxable.minus(taxable.div(rate.plus(1))) : taxable.times(rate));
        }
        expect(new Decimal(totals.tax).equals(tax)).toBe(true);
        expect(new Decimal(totals.total).equals(s.tax?.inclusive ? charges : charges.plus(tax))).toBe(true);
        expect(new Decimal(totals.amountDue).equals(new Decimal(totals.total).plus(prepaid))).toBe(true);

        // Usage paid in full from wallets nets to zero: the customer owes the rest exactly.
        const usage = total(lines, (l) => l.kind === LineKind.USAGE && (l.details.events as number) > 0);
        if (rated.charged > 0n && rated.paid === rated.charged) expect(prepaid.equals(usage.negated())).toBe(true);
        if (rated.paid === 0n) expect(prepaid.isZero()).toBe(true);
        // Partly paid: the prepaid lines are within one minor unit per line of what left the wallets.
        const exactPaid = lines.filter((l) => l.kind === LineKind.PREPAID).reduce((x, l) => x.plus(l.precise), new Decimal(0));
        const slack = new Decimal(10).pow(-options.exponent).times(lines.length + 1);
        expect(prepaid.minus(exactPaid).abs().lessThanOrEqualTo(slack)).toBe(true);

        // A volume line and its true-up add up to the period amount rounded once.
        for (const tu of lines.filter((l) => l.kind === LineKind.TRUE_UP && l.key.startsWith('true-up:'))) {
          const u = lines.find((l) => l.key === `usage:${tu.key.slice('true-up:'.length)}`);
          expect(u).toBeDefined();
          expect(u!.rounded.plus(tu.rounded).equals(round(u!.precise.plus(tu.precise)))).toBe(true);
        }

        // A minimum makes its rule set's lines add up to the minimum exactly.
        const minimum = lines.find((l) => l.kind === LineKind.MINIMUM);
        if (minimum) {
          const own = total(lines, (l) => l.kind === LineKind.USAGE || l.kind === LineKind.TRUE_UP || l.kind === LineKind.MINIMUM);
          expect(own.equals(round(new Decimal(s.rules.minimumSpend!)))).toBe(true);
        }

        // Tiers and adjustments explain each usage line to the unit.
        for (const l of lines.filter((x) => x.kind === LineKind.USAGE && x.tiers.length > 0)) {
          const parts = [...l.tiers.map((t) => t.amount), ...l.adjustments.map((a) => a.amount)].reduce((x, a) => x.plus(a), new Decimal(0));
          expect(parts.equals(l.precise)).toBe(true);
        }
      }),
      { numRuns: 2000, seed: 20261130 },
    );
  }, 120_000);
});
