import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHARGE_MODELS } from '../../../src/rating/charge-models/index.js';
import { resolveFactPath } from '../../../src/rating/fact-path.js';
import { validateRuleSetText } from '../../../src/rating/validate.js';
import { rateEvent } from '../../../src/rating/rate-event.js';
import { RuleBook } from '../../../src/rating/rule-book.js';
import { input } from './helpers.js';

const good = readFileSync(new URL('../../../rules/hybrid-plan/v1.json', import.meta.url), 'utf8');

function problems(text: string, expected = {}) {
  const result = validateRuleSetText(text, expected);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

/** Edits the shipped hybrid plan file and returns its text. */
function edit(fn: (doc: Record<string, any>) => void): string {
  const doc = JSON.parse(good);
  fn(doc);
  return JSON.stringify(doc, null, 2);
}

describe('rule file validation', () => {
  it('accepts the shipped files', () => {
    for (const f of ['ai-price-book/v1.json', 'ai-price-book/v2.json', 'image-credits/v1.json', 'hybrid-plan/v1.json']) {
      expect(validateRuleSetText(readFileSync(new URL(`../../../rules/${f}`, import.meta.url), 'utf8')).ok).toBe(true);
    }
  });

  it('locates a JSON syntax error by line and column', () => {
    expect(problems('{\n  "key": "x",\n  "version": 1,\n}\n')).toEqual([{ pointer: '', line: 4, column: 1, message: expect.stringMatching(/^invalid JSON: a property name/) }]);
  });

  it('reports every syntax fault of a file, each where it is', () => {
    const text = '{\n  "key": "a",\n  "rules": [1,],\n  "currency": "USD",\n  "x": [2,]\n}';
    expect(problems(text).map((p) => [p.line, p.column, p.message])).toEqual([
      [3, 15, 'invalid JSON: a value was expected'],
      [5, 11, 'invalid JSON: a value was expected'],
    ]);
  });

  it("a rule of the wrong shape does not hide another rule's faults", () => {
    const text = edit((d) => {
      d.rules.push({ ...structuredClone(d.rules[0]), name: 'second' }, { ...structuredClone(d.rules[0]), name: 'third' });
      delete d.rules[1].conditions;
      d.rules[2].event.params.id = 'third';
      d.rules[2].event.params.per = '7';
    });
    const found = problems(text).map((p) => [p.pointer, p.message]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['/rules/1', 'is missing the required property "conditions"'],
        ['/rules/2/event/params/per', expect.stringMatching(/^must be a power of ten/)],
      ]),
    );
  });

  it('points at the value the schema refuses, with its line', () => {
    const text = edit((d) => (d.rules[0].event.params.tiers[1].unitPrice = '-3.00'));
    const [p] = problems(text);
    expect(p).toMatchObject({ pointer: '/rules/0/event/params/tiers/1/unitPrice', message: expect.stringMatching(/non-negative decimal/) });
    expect(text.split('\n')[p!.line - 1]).toContain('"-3.00"');
  });

  it('names an unknown charge model and lists the known ones', () => {
    const [p] = problems(edit((d) => (d.rules[0].event.params.model = 'tiered')));
    expect(p).toMatchObject({ pointer: '/rules/0/event/params', message: expect.stringMatching(/unknown model "tiered": use "per_unit"/) });
  });

  it('knows the charge models the JSON Schema knows, and no other', () => {
    const schema = JSON.parse(readFileSync(new URL('../../../rules/rule-set.schema.json', import.meta.url), 'utf8'));
    const inSchema = schema.definitions.charge.oneOf.map((branch: { properties: { model: { const: string } } }) => branch.properties.model.const);
    expect([...inSchema].sort()).toEqual(Object.keys(CHARGE_MODELS).sort());
  });

  it('refuses unordered or overlapping tiers and a closed last tier', () => {
    const ps = problems(
      edit((d) => {
        d.rules[0].event.params.tiers = [
          { upTo: '100', unitPrice: '1' },
          { upTo: '50', unitPrice: '1' },
          { upTo: '200', unitPrice: '1' },
        ];
      }),
    );
    expect(ps.map((p) => [p.pointer, p.message])).toEqual([
      ['/rules/0/event/params/tiers/1/upTo', expect.stringMatching(/greater than the previous tier's upTo \(100\)/)],
      ['/rules/0/event/params/tiers/2/upTo', expect.stringMatching(/last tier must be open/)],
    ]);
  });

  it('refuses unsafe fact paths: prototype names, JSONPath filters, brackets', () => {
    for (const path of ['$.__proto__.polluted', '$.dimensions.constructor', '$..[?(@.model)]', '$.dimensions["model"]', 'dimensions.model']) {
      const [p] = problems(edit((d) => (d.rules[0].conditions.all[0].path = path)));
      expect(p).toMatchObject({ pointer: '/rules/0/conditions/all/0/path', message: expect.stringMatching(/^unsafe fact path/) });
    }
  });

  it('refuses duplicate ids, unknown adjustment targets, and a key or version that disagrees with the file name', () => {
    const text = edit((d) => {
      d.rules.push({ ...d.rules[0], name: 'again' });
      d.rules.push({ name: 'adj', conditions: { all: [] }, event: { type: 'adjustment', params: { id: 'x', kind: 'discount', percent: '101', appliesTo: ['nope'] } } });
    });
    const ps = problems(text, { key: 'other', version: 2 });
    expect(ps.map((p) => p.pointer)).toEqual(['/key', '/version', '/rules/1/event/params/id', '/rules/2/event/params/percent', '/rules/2/event/params/appliesTo/0']);
  });

  it('refuses float comparisons: decimal facts are compared with decimal operators', () => {
    const ps = problems(edit((d) => d.rules[0].conditions.all.push({ fact: 'event', path: '$.quantity', operator: 'greaterThan', value: '5' })));
    expect(ps[0]!.message).toMatch(/must be one of .*decimalGreaterThan/);
    const ps2 = problems(edit((d) => d.rules[0].conditions.all.push({ fact: 'event', path: '$.quantity', operator: 'decimalGreaterThan', value: 'five' })));
    expect(ps2[0]!.message).toMatch(/decimal written as a string/);
  });

  it('hashes content, not formatting', () => {
    const a = validateRuleSetText(good);
    const b = validateRuleSetText(JSON.stringify(JSON.parse(good)));
    expect(a.ok && b.ok && a.hash === b.hash).toBe(true);
    const c = validateRuleSetText(edit((d) => (d.rules[0].event.params.tiers[0].unitPrice = '4.01')));
    expect(a.ok && c.ok && a.hash !== c.hash).toBe(true);
  });
});

describe('fact paths', () => {
  it('resolve own properties only, whatever the path says', () => {
    const facts = JSON.parse('{"dimensions": {"model": "m"}, "__proto__": {"polluted": 1}}');
    expect(resolveFactPath(facts, '$.dimensions.model')).toBe('m');
    expect(resolveFactPath(facts, '$.dimensions.toString')).toBeUndefined();
    expect(resolveFactPath(facts, '$.__proto__.polluted')).toBeUndefined();
    expect(resolveFactPath(facts, '$..[?(@.model)]')).toBeUndefined();
    expect(resolveFactPath({ a: { b: 1 } }, '$.a.b.c.d')).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('versions by effective date', () => {
  it('price an event with the latest version at or before its timestamp', async () => {
    const v = (version: number, from: string, price: string) => {
      const r = validateRuleSetText(edit((d) => Object.assign(d, { version, effectiveFrom: from, rules: [{ ...d.rules[0], event: { type: 'charge', params: { id: 'p', model: 'per_unit', unitPrice: price } } }] })));
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.compiled;
    };
    const book = new RuleBook([v(2, '2026-06-01T00:00:00Z', '2'), v(1, '2026-01-01T00:00:00Z', '1'), v(3, '2026-09-01T00:00:00+02:00', '3')]);
    expect(book.resolve('hybrid-plan', new Date('2025-12-31T23:59:59Z'))).toBeUndefined();
    expect(book.resolve('hybrid-plan', new Date('2026-05-31T23:59:59.999Z'))?.ref.version).toBe(1);
    expect(book.resolve('hybrid-plan', new Date('2026-06-01T00:00:00Z'))?.ref.version).toBe(2);
    expect(book.resolve('hybrid-plan', new Date('2026-08-31T22:00:00Z'))?.ref.version).toBe(3);
    const rated = await rateEvent(book.resolve('hybrid-plan', new Date('2026-07-01T00:00:00Z'))!, { ...input('3'), event: { ...input('3').event, meter: 'llm_tokens' } });
    expect(rated.amount.toFixed()).toBe('6');
    expect(rated.ruleSet.version).toBe(2);
  });
});
