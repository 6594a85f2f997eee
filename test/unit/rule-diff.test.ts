import { describe, expect, it } from 'vitest';
import { diffRuleSets, formatDiff } from '../../src/modules/rules/rule-diff.pure.js';
import type { RuleDefinition, RuleSetDefinition } from '../../src/rating/types.js';

const leaf = (path: string, value: string) => ({ fact: 'event' as const, path, operator: 'equal', value });
const charge = (name: string, model: string, dims: Record<string, string>, params: Record<string, unknown>): RuleDefinition => ({
  name,
  conditions: { all: [leaf('$.meter', 'llm_tokens'), ...Object.entries(dims).map(([k, v]) => leaf(`$.dimensions.${k}`, v))] },
  event: { type: 'charge', params: { id: name, model, ...params } as never },
});
const version = (version: number, rules: RuleDefinition[], extra: Partial<RuleSetDefinition> = {}): RuleSetDefinition => ({
  key: 'book',
  version,
  effectiveFrom: `2026-0${version}-01T00:00:00Z`,
  currency: 'USD',
  rules,
  ...extra,
});

const tiers = (...t: Array<[string | null, string]>) => t.map(([upTo, unitPrice]) => ({ upTo, unitPrice }));

describe('rules diff', () => {
  it('names each changed price with its meter, model and dimensions; equal decimals are no change', () => {
    const a = version(1, [charge('gpt-in', 'per_unit', { model: 'gpt-4o' }, { unitPrice: '2.50', per: '1000000' }), charge('mini-in', 'per_unit', { model: 'mini' }, { unitPrice: '0.15' })]);
    const b = version(2, [charge('gpt-in', 'per_unit', { model: 'gpt-4o' }, { unitPrice: '2.00', per: '1000000' }), charge('mini-in', 'per_unit', { model: 'mini' }, { unitPrice: '0.150' })]);
    const d = diffRuleSets('book', a, b);
    expect(d.charges).toEqual([
      { id: 'gpt-in', change: 'changed', rule: 'gpt-in', meter: 'llm_tokens', dimensions: ['model = gpt-4o'], model: { from: 'per_unit', to: 'per_unit' }, per: '1000000', figures: [{ what: 'unitPrice', from: '2.50', to: '2.00' }], tiers: [] },
    ]);
    expect(formatDiff(d)).toEqual([
      'book: v1 → v2, effective 2026-02-01T00:00:00Z',
      '  rule changed: "gpt-in"',
      '  rule changed: "mini-in"',
      '  charge gpt-in changed (meter llm_tokens, model = gpt-4o; per_unit per 1000000)',
      '    unitPrice: 2.50 → 2.00',
    ]);
  });

  it('tiers: the same bound is the same tier; a changed bound moved; the rest added or removed', () => {
    const a = version(1, [charge('c', 'graduated', {}, { tiers: tiers(['10', '3'], ['100', '2'], [null, '1']) })]);
    const b = version(2, [charge('c', 'graduated', {}, { tiers: tiers(['20', '3'], ['100', '1.5'], ['1000', '1.2'], [null, '1']) })]);
    const d = diffRuleSets('book', a, b);
    expect(d.charges[0]!.figures).toEqual([{ what: 'tier 2 (up to 100) unitPrice', from: '2', to: '1.5' }]);
    expect(d.charges[0]!.tiers).toEqual([
      { change: 'moved', tier: 1, upTo: { from: '10', to: '20' }, figures: { unitPrice: '3' } },
      { change: 'added', tier: 3, upTo: { from: null, to: '1000' }, figures: { unitPrice: '1.2' } },
    ]);
    expect(formatDiff(d).slice(2)).toEqual([
      '  charge c changed (meter llm_tokens; graduated)',
      '    tier 2 (up to 100) unitPrice: 2 → 1.5',
      '    tier 1 moved: up to 10 → up to 20',
      '    tier 3 added: up to 1000, unitPrice 1.2',
    ]);
    const removed = diffRuleSets('book', b, a).charges[0]!.tiers;
    expect(removed).toContainEqual({ change: 'removed', tier: 3, upTo: { from: '1000', to: null }, figures: { unitPrice: '1.2' } });
  });

  it('charges and adjustments added, removed or remodelled; rule-set figures; conditions that select differently', () => {
    const discount = (percent: string): RuleDefinition => ({ name: 'enterprise', conditions: { all: [{ fact: 'customer', path: '$.metadata.tier', operator: 'equal', value: 'enterprise' }] }, event: { type: 'adjustment', params: { id: 'ent', kind: 'discount', percent } } });
    const a = version(1, [charge('old', 'per_unit', { model: 'x' }, { unitPrice: '1' }), charge('c', 'per_unit', { model: 'y' }, { unitPrice: '1' }), discount('5')], { minimumSpend: '20' });
    const b = version(2, [charge('c', 'volume', { model: 'z' }, { tiers: tiers([null, '1']) }), charge('new', 'per_unit', { model: 'n' }, { unitPrice: '4' }), discount('10')], { minimumSpend: '25', maximumSpend: '500' });
    const lines = formatDiff(diffRuleSets('book', a, b));
    expect(lines).toEqual([
      'book: v1 → v2, effective 2026-02-01T00:00:00Z',
      '  minimumSpend: 20 → 25',
      '  maximumSpend: (none) → 500',
      '  rule added: "new"',
      '  rule removed: "old"',
      '  rule changed: "c"',
      '  rule changed: "enterprise"',
      '  charge old removed (meter llm_tokens, model = x; per_unit)',
      '    unitPrice 1',
      '  charge c changed (meter llm_tokens, model = z; per_unit → volume)',
      '    applies to: meter llm_tokens, model = y → meter llm_tokens, model = z',
      '    unitPrice: 1 → (none)',
      '    tier 1 added: no upper bound, unitPrice 1',
      '  charge new added (meter llm_tokens, model = n; per_unit)',
      '    unitPrice 4',
      '  adjustment ent changed (rule "enterprise")',
      '    percent: 5 → 10',
    ]);
    expect(formatDiff(diffRuleSets('book', a, a))).toEqual(['book: v1 → v1, effective 2026-01-01T00:00:00Z: no changes']);
  });
});
