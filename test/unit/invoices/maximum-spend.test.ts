import { describe, expect, it } from 'vitest';
import { LineKind } from '../../../src/modules/invoices/invoice.record.js';
import { usageItems, type UsageGroup } from '../../../src/modules/invoices/usage-items.pure.js';
import { rateEvent } from '../../../src/rating/rate-event.js';
import type { ChargeParams, RuleSetDefinition } from '../../../src/rating/types.js';
import { Decimal } from '../../../src/shared/money/decimal.js';
import { always, input, ruleSet } from '../rating/helpers.js';

const period = { start: new Date('2026-03-01T00:00:00Z'), end: new Date('2026-04-01T00:00:00Z') };

/** Rates the quantities in order and sums their lines into one usage group, as the period statement does. */
async function invoiceLine(params: ChargeParams, quantities: string[]) {
  return (await invoiceItems(params, quantities)).find((i) => i.kind === LineKind.USAGE)!;
}

async function invoiceItems(params: ChargeParams, quantities: string[], extra: Partial<RuleSetDefinition> = {}) {
  const rs = ruleSet([always(params)], extra);
  let counter = new Decimal(0);
  let spent = new Decimal(0);
  const g: UsageGroup = {
    meterCode: 'tokens', ruleSetKey: rs.ref.key, ruleSetVersion: rs.ref.version, ruleSetHash: rs.ref.hash, dimensions: {}, component: params.id,
    provisional: false, counterKey: params.id, adjustments: [], events: 0, quantity: new Decimal(0), amount: new Decimal(0), base: new Decimal(0), counted: new Decimal(0), tiers: [],
  };
  for (const q of quantities) {
    const rating = await rateEvent(rs, input(q, { [params.id]: counter.toFixed(), 'spend:test': spent.toFixed() }));
    const line = rating.lines[0]!;
    counter = counter.plus(q);
    spent = spent.plus(rating.marks[0]?.delta ?? 0);
    g.events++;
    g.provisional = line.provisional;
    g.quantity = g.quantity.plus(line.quantity);
    g.amount = g.amount.plus(line.amount);
    g.base = g.base.plus(line.base);
    g.counted = g.counted.plus(line.counter!.delta);
  }
  const items = await usageItems({
    period,
    groups: [g],
    latest: [],
    charges: [{ meterCode: 'tokens', meterName: 'Tokens', aggregation: 'SUM', ruleSetKey: rs.ref.key, displayName: null, groupBy: [] }],
    rules: { version: () => rs, resolve: () => rs },
    customer: { id: 'c', externalId: 'c', metadata: {} },
    plan: null,
    round: (x) => x.toDecimalPlaces(2),
  });
  return items;
}

describe('a charge maximum spend on the invoice', () => {
  const params = { id: 'tok', model: 'per_unit', unitPrice: '0.5', maximumSpend: '30' } as ChargeParams;
  it('bills at most the cap and says it was reached', async () => {
    const line = await invoiceLine(params, ['40', '30', '10']);
    expect(line.amount.toFixed()).toBe('30');
    expect(line.details).toMatchObject({ maximumSpend: '30', maximumReached: true });
    expect(line.description).toContain('maximum spend of 30 reached');
  });
  it('shows the cap without the note while usage stays under it', async () => {
    const line = await invoiceLine(params, ['40', '19']);
    expect(line.amount.toFixed()).toBe('29.5');
    expect(line.details).toMatchObject({ maximumSpend: '30', maximumReached: false });
    expect(line.description).not.toContain('reached');
  });
});

describe('a rule set maximum spend on the invoice', () => {
  const params = { id: 'tok', model: 'per_unit', unitPrice: '0.5' } as ChargeParams;
  const summary = (items: Awaited<ReturnType<typeof invoiceItems>>) => items.map((i) => [i.kind, i.key, i.amount.toFixed(), (i.rounded ?? i.amount).toFixed()]);
  it('shows the cap once the charges reach it', async () => {
    const items = await invoiceItems(params, ['40', '30', '10'], { maximumSpend: '30' });
    expect(summary(items)).toEqual([
      ['USAGE', expect.stringMatching(/^usage:/), '30', '30'],
      ['TRUE_UP', 'maximum:test', '0', '0'],
    ]);
    expect(items[1]!.description).toBe('Maximum spend of 30 (test v1): reached');
    expect(items[0]!.description).toContain('(maximum spend of 30 for test reached)');
    expect(items[0]!.details.ruleSetMaximumSpend).toBe('30');
  });
  it('takes back a true-up beyond the cap, and shows nothing under it', async () => {
    const volume = { id: 'tok', model: 'volume', tiers: [{ upTo: '10', unitPrice: '1' }, { upTo: null, unitPrice: '0.5', flatFee: '10' }] } as ChargeParams;
    const items = await invoiceItems(volume, ['8', '12'], { maximumSpend: '18' }); // provisional 8 + 6 = 14; the period is 20 * 0.5 + 10
    // Trued up: the units at the tier price (−4) and the tier's flat fee (+10), 20 in all; the cap takes back 2.
    expect(summary(items).map(([kind, key, amount]) => [kind, key, amount])).toEqual([
      ['USAGE', expect.stringMatching(/^usage:/), '14'],
      ['TRUE_UP', expect.stringMatching(/^true-up:/), '-4'],
      ['TRUE_UP', expect.stringMatching(/^tier-fee:/), '10'],
      ['TRUE_UP', 'maximum:test', '-2'],
    ]);
    expect(summary(await invoiceItems(params, ['40', '19'], { maximumSpend: '30' })).map(([kind]) => kind)).toEqual(['USAGE']);
  });
});
