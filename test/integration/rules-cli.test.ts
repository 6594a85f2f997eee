import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBilling } from '../support/process.js';

const shipped = fileURLToPath(new URL('../../rules/', import.meta.url));
let copy: string;
const copies: string[] = [];
beforeAll(async () => {
  copy = await mkdtemp(path.join(tmpdir(), 'billing-rules-cli-'));
  await cp(shipped, copy, { recursive: true });
});
afterAll(() => rm(copy, { recursive: true, force: true }));

describe('billing rules', () => {
  it('validate passes the shipped rule sets and exits 0', async () => {
    const r = await runBilling(['rules', 'validate', shipped], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok {4}ai-price-book\/v1\.json {2}ai-price-book v1 from 2026-01-01T00:00:00Z/m);
    expect(r.stdout).toMatch(/^ok {4}provider-costs\/v1\.json {2}provider-costs v1 \(cost book\) from 2026-01-01T00:00:00Z/m);
    expect(r.stdout).toMatch(/6 file\(s\), 0 fault\(s\)/);
  });

  it('validate names file, line, column and reason of a broken file, and exits 1', async () => {
    await writeFile(path.join(copy, 'hybrid-plan/v2.json'), '{\n  "key": "hybrid-plan",\n  "version": 2,\n  "rules": [}\n');
    const r = await runBilling(['rules', 'validate', copy], {});
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}hybrid-plan\/v2\.json:4:13: invalid JSON: a value was expected/m);
    await rm(path.join(copy, 'hybrid-plan/v2.json'));
  });

  it('test runs the examples beside the rules', async () => {
    const r = await runBilling(['rules', 'test', shipped], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/49 example\(s\), 0 failed/);
  });

  it('test prints a diff for a wrong expectation and exits 1', async () => {
    const file = path.join(copy, 'image-credits/examples.json');
    const doc = JSON.parse(await (await import('node:fs/promises')).readFile(file, 'utf8'));
    doc.cases[1].expect.total = '9';
    await writeFile(file, JSON.stringify(doc));
    const r = await runBilling(['rules', 'test', copy], {});
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL  image-credits/examples.json: a 1024x1024 hd image after the free ones costs 8 credits');
    expect(r.stdout).toContain('total: expected "9", got "8"');
  });

  it('eval prints the rating as JSON', async () => {
    const event = JSON.stringify({ meter: 'llm_tokens', quantity: '1500000', timestamp: '2026-03-01T00:00:00Z', dimensions: { model: 'gpt-4o', tokenType: 'output' } });
    const r = await runBilling(['rules', 'eval', '--rules', shipped, '--rule-set', 'ai-price-book', '--event', event, '--period-quantity', '9000000'], {});
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ruleSet).toMatchObject({ key: 'ai-price-book', version: 1 });
    expect(out.lines).toEqual([expect.objectContaining({ component: 'gpt-4o-output', amount: '14.5', charged: '14.5', tiers: [expect.objectContaining({ tier: 1, amount: '10' }), expect.objectContaining({ tier: 2, amount: '4.5' })] })]);
    const agg = await runBilling(['rules', 'eval', '--rules', path.join(shipped, 'hybrid-plan/v1.json'), '--event', JSON.stringify({ meter: 'llm_tokens', quantity: '12000000', timestamp: '2026-03-01T00:00:00Z' }), '--aggregate', '--events', '30'], {});
    expect(JSON.parse(agg.stdout).lines[0].amount).toBe('42');
  });
});

describe('rules eval with customer and plan facts', () => {
  const event = (e: Record<string, unknown>) => JSON.stringify({ timestamp: '2026-03-01T00:00:00Z', ...e });

  it('--customer gives the metadata rules read', async () => {
    const e = event({ meter: 'llm_tokens', quantity: '1000000', dimensions: { model: 'gpt-4o', tokenType: 'input' } });
    const r = await runBilling(['rules', 'eval', '--rules', shipped, '--rule-set', 'ai-price-book', '--event', e, '--customer', '{"metadata":{"tier":"enterprise"}}'], {});
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.firedRules).toEqual(['gpt-4o input tokens', 'enterprise customers get 5% off list prices']);
    expect(out.lines[0]).toMatchObject({ amount: '2.375', adjustments: [{ id: 'enterprise-discount' }] });
  });

  it('--plan gives the plan rules read; without it there is none', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'billing-rules-plan-'));
    copies.push(dir);
    await (await import('node:fs/promises')).mkdir(path.join(dir, 'by-plan'));
    const rule = { name: 'pro plan seats', conditions: { all: [{ fact: 'plan', path: '$.code', operator: 'equal', value: 'pro' }] }, event: { type: 'charge', params: { id: 'seats', model: 'per_unit', unitPrice: '1.25' } } };
    await writeFile(path.join(dir, 'by-plan/v1.json'), JSON.stringify({ key: 'by-plan', version: 1, effectiveFrom: '2026-01-01T00:00:00Z', currency: 'USD', rules: [rule] }));
    const e = event({ meter: 'seats', quantity: '3' });
    const pro = await runBilling(['rules', 'eval', '--rules', dir, '--event', e, '--plan', '{"code":"pro","version":2}'], {});
    expect(pro.code).toBe(0);
    expect(JSON.parse(pro.stdout).lines).toEqual([expect.objectContaining({ component: 'seats', amount: '3.75' })]);
    const none = await runBilling(['rules', 'eval', '--rules', dir, '--event', e], {});
    expect(JSON.parse(none.stdout)).toMatchObject({ lines: [], refusal: { code: 'UNPRICED_EVENT' } });
    const bad = await runBilling(['rules', 'eval', '--rules', dir, '--event', e, '--plan', '{"code":"pro"}', '--customer', '{"metadata":{"tier":1}}'], {});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('customer.metadata: must map names to strings');
    expect(bad.stderr).toContain('plan.version: must be the plan version, a positive integer');
    const notJson = await runBilling(['rules', 'eval', '--rules', dir, '--event', e, '--plan', '{pro'], {});
    expect(notJson.stderr).toBe('error: --plan is not valid JSON\n');
  });
});

/** A fresh copy of the shipped rules (lock included), removed after the run. */
async function shippedCopy(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'billing-rules-lock-'));
  await cp(shipped, dir, { recursive: true });
  copies.push(dir);
  return dir;
}
afterAll(() => Promise.all(copies.map((d) => rm(d, { recursive: true, force: true }))));

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

describe('the lock (rules.lock.json)', () => {
  it('holds every shipped version, and rules lock leaves it as it is', async () => {
    const dir = await shippedCopy();
    const before = await readFile(path.join(dir, 'rules.lock.json'), 'utf8');
    expect(Object.keys(JSON.parse(before))).toEqual(['ai-price-book', 'hybrid-plan', 'image-credits', 'platform-plan', 'provider-costs']);
    const r = await runBilling(['rules', 'lock', dir], {});
    expect(r).toMatchObject({ code: 0, stdout: 'rules.lock.json up to date\n' });
    expect(await readFile(path.join(dir, 'rules.lock.json'), 'utf8')).toBe(before);
  });

  it('validate refuses an edited locked version precisely, ignores reformatting, and lock refuses to overwrite it', async () => {
    const dir = await shippedCopy();
    const file = path.join(dir, 'image-credits/v1.json');
    const original = await readJson(file);
    await writeFile(file, JSON.stringify(original));
    expect((await runBilling(['rules', 'validate', dir], {})).code).toBe(0);

    await writeFile(file, JSON.stringify({ ...original, description: 'edited after publishing' }, null, 2));
    const lock = await readJson(path.join(dir, 'rules.lock.json'));
    const r = await runBilling(['rules', 'validate', dir], {});
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`^FAIL  image-credits/v1\\.json:1:1: version 1 of "image-credits" is locked with hash ${lock['image-credits']['1'].slice(0, 12)}, but the file now hashes to [0-9a-f]{12}: published versions never change`, 'm'),
    );
    expect(r.stdout).toMatch(/1 fault\(s\)/);
    const refused = await runBilling(['rules', 'lock', dir], {});
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('rules.lock.json not written');
    expect(await readJson(path.join(dir, 'rules.lock.json'))).toEqual(lock);
  });

  it('validate names a locked version that disappeared at its line in the lock', async () => {
    const dir = await shippedCopy();
    await rm(path.join(dir, 'hybrid-plan/v1.json'));
    const text = await readFile(path.join(dir, 'rules.lock.json'), 'utf8');
    const line = text.split('\n').findIndex((l) => l.includes('"hybrid-plan"')) + 2;
    const r = await runBilling(['rules', 'validate', dir], {});
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^FAIL  rules\\.lock\\.json:${line}:10: version 1 of "hybrid-plan" is locked but hybrid-plan/v1\\.json is gone.* \\(at /hybrid-plan/1\\)$`, 'm'));
  });

  it('validate and lock refuse a malformed lock at its place', async () => {
    const dir = await shippedCopy();
    await writeFile(path.join(dir, 'rules.lock.json'), '{\n  "hybrid-plan": { "1": "not a hash" }\n}\n');
    const r = await runBilling(['rules', 'validate', dir], {});
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL  rules\.lock\.json:2:18: "hybrid-plan" must map version numbers to SHA-256 hashes \(64 hex digits\) \(at \/hybrid-plan\)$/m);
    expect((await runBilling(['rules', 'lock', dir], {})).code).toBe(1);
  });

  it('a new version is fine; lock records it, sorted; one starting in the past must say it is backdated', async () => {
    const dir = await shippedCopy();
    const v2 = await readJson(path.join(dir, 'hybrid-plan/v1.json'));
    const write = (doc: unknown) => writeFile(path.join(dir, 'hybrid-plan/v2.json'), JSON.stringify(doc, null, 2));
    await write({ ...v2, version: 2, effectiveFrom: '2099-01-01T00:00:00Z' });
    expect((await runBilling(['rules', 'validate', dir], {})).code).toBe(0);

    await write({ ...v2, version: 2, effectiveFrom: '2026-02-01T00:00:00Z' });
    const late = await runBilling(['rules', 'validate', dir], {});
    expect(late.code).toBe(1);
    expect(late.stdout).toMatch(/^FAIL  hybrid-plan\/v2\.json:5:20: takes effect at 2026-02-01T00:00:00Z, before it is published \(.*\).*"backdated": \{ "reason": "…" \} \(at \/effectiveFrom\)$/m);

    await write({ ...v2, version: 2, effectiveFrom: '2026-02-01T00:00:00Z', backdated: { reason: 'the February price was agreed in March' } });
    expect((await runBilling(['rules', 'validate', dir], {})).code).toBe(0);
    // A rule set with no locked version yet may start in the past: nothing was priced by it.
    await cp(path.join(dir, 'hybrid-plan'), path.join(dir, 'another-plan'), { recursive: true });
    for (const v of [1, 2]) {
      const f = path.join(dir, `another-plan/v${v}.json`);
      await writeFile(f, JSON.stringify({ ...(await readJson(f)), key: 'another-plan', backdated: undefined }, null, 2));
    }
    await rm(path.join(dir, 'another-plan/examples.json'));
    expect((await runBilling(['rules', 'validate', dir], {})).code).toBe(0);

    const r = await runBilling(['rules', 'lock', dir], {});
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toBe('locked   another-plan v1\nlocked   another-plan v2\nlocked   hybrid-plan v2\nrules.lock.json written\n');
    const text = await readFile(path.join(dir, 'rules.lock.json'), 'utf8');
    expect(Object.keys(JSON.parse(text))).toEqual(['ai-price-book', 'another-plan', 'hybrid-plan', 'image-credits', 'platform-plan', 'provider-costs']);
    expect(Object.keys(JSON.parse(text)['hybrid-plan'])).toEqual(['1', '2']);
    expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  });
});

describe('cost books', () => {
  it('validate refuses what a cost book may not say at its line, and a version that changes its key’s purpose', async () => {
    const dir = await shippedCopy();
    const doc = await readJson(path.join(dir, 'provider-costs/v1.json'));
    const charge = doc.rules[0].event.params;
    const bad = {
      ...doc,
      version: 2,
      effectiveFrom: '2099-01-01T00:00:00Z',
      minimumSpend: '10',
      rules: [
        { ...doc.rules[0], event: { type: 'charge', params: { ...charge, model: 'graduated', unitPrice: undefined, tiers: [{ upTo: null, unitPrice: '2' }] } } },
        { ...doc.rules[1], event: { type: 'refuse', params: { code: 'NO', message: 'no' } } },
        ...doc.rules.slice(2),
      ],
    };
    await writeFile(path.join(dir, 'provider-costs/v2.json'), JSON.stringify(bad, null, 2));
    const r = await runBilling(['rules', 'validate', dir], {});
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL  provider-costs\/v2\.json:\d+:\d+: is not allowed in a cost book: a cost book prices each event alone, with no period minimum \(at \/minimumSpend\)$/m);
    expect(r.stdout).toMatch(/^FAIL  provider-costs\/v2\.json:\d+:\d+: a graduated charge is priced from a period counter; .* \(at \/rules\/0\/event\/params\/model\)$/m);
    expect(r.stdout).toMatch(/^FAIL  provider-costs\/v2\.json:\d+:\d+: a cost book never refuses an event.* \(at \/rules\/1\/event\/type\)$/m);

    await writeFile(path.join(dir, 'provider-costs/v2.json'), JSON.stringify({ ...doc, version: 2, effectiveFrom: '2099-01-01T00:00:00Z', purpose: undefined }, null, 2));
    const changed = await runBilling(['rules', 'validate', dir], {});
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/^FAIL  provider-costs\/v2\.json:1:1: a rule set keeps its purpose: version 1 of "provider-costs" is a cost book; publish a price rule set under a key of its own \(at \/purpose\)$/m);
  });
});

describe('rules diff', () => {
  const book = (version: number, tiers: Array<{ upTo: string | null; unitPrice: string }>, extra: Record<string, unknown> = {}) => ({
    key: 'book',
    version,
    effectiveFrom: `2099-0${version}-01T00:00:00Z`,
    currency: 'USD',
    rules: [
      {
        name: 'gpt-4o output',
        conditions: { all: [{ fact: 'event', path: '$.meter', operator: 'equal', value: 'llm_tokens' }, { fact: 'event', path: '$.dimensions.model', operator: 'equal', value: 'gpt-4o' }] },
        event: { type: 'charge', params: { id: 'gpt-4o-output', model: 'graduated', per: '1000000', tiers } },
      },
    ],
    ...extra,
  });
  let before: string;
  let after: string;
  beforeAll(async () => {
    const { mkdir } = await import('node:fs/promises');
    before = await mkdtemp(path.join(tmpdir(), 'billing-rules-diff-a-'));
    after = await mkdtemp(path.join(tmpdir(), 'billing-rules-diff-b-'));
    copies.push(before, after);
    const v1 = book(1, [{ upTo: '10000000', unitPrice: '10' }, { upTo: null, unitPrice: '9' }]);
    const v2 = book(2, [{ upTo: '20000000', unitPrice: '10' }, { upTo: '100000000', unitPrice: '8.50' }, { upTo: null, unitPrice: '8' }]);
    for (const [dir, files] of [[before, { 'book/v1.json': v1 }], [after, { 'book/v1.json': v1, 'book/v2.json': v2 }]] as const) {
      await mkdir(path.join(dir, 'book'));
      for (const [f, doc] of Object.entries(files)) await writeFile(path.join(dir, f), JSON.stringify(doc, null, 2));
    }
    await cp(path.join(shipped, 'image-credits'), path.join(after, 'image-credits'), { recursive: true });
  });

  const bookLines = [
    'book: v1 → v2, effective 2099-02-01T00:00:00Z',
    '  rule changed: "gpt-4o output"',
    '  charge gpt-4o-output changed (meter llm_tokens, model = gpt-4o; graduated per 1000000)',
    '    tier 3 (no upper bound) unitPrice: 9 → 8',
    '    tier 1 moved: up to 10000000 → up to 20000000',
    '    tier 2 added: up to 100000000, unitPrice 8.50',
  ];

  it('between two folders: the price changes of each rule set in words, exit 0', async () => {
    const r = await runBilling(['rules', 'diff', before, after], {});
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 6)).toEqual(bookLines);
    expect(lines[6]).toBe('image-credits: new rule set, v1 effective 2026-01-01T00:00:00Z');
    expect(lines).toContain('  charge image-1024x1024-hd added (meter images, size = 1024x1024, quality = hd; per_unit)');
  });

  it('between two versions of one rule set, and as JSON', async () => {
    const r = await runBilling(['rules', 'diff', after, '--rule-set', 'book', '--from', '1', '--to', '2'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${bookLines.join('\n')}\n`);
    const json = await runBilling(['rules', 'diff', before, after, '--rule-set', 'book', '--json'], {});
    expect(json.code).toBe(0);
    const { ruleSets } = JSON.parse(json.stdout);
    expect(ruleSets).toHaveLength(1);
    expect(ruleSets[0]).toMatchObject({ key: 'book', from: { version: 1 }, to: { version: 2 } });
    expect(ruleSets[0].charges[0]).toMatchObject({
      id: 'gpt-4o-output',
      meter: 'llm_tokens',
      dimensions: ['model = gpt-4o'],
      model: { from: 'graduated', to: 'graduated' },
      figures: [{ what: 'tier 3 (no upper bound) unitPrice', from: '9', to: '8' }],
      tiers: [
        { change: 'moved', tier: 1, upTo: { from: '10000000', to: '20000000' } },
        { change: 'added', tier: 2, upTo: { from: null, to: '100000000' }, figures: { unitPrice: '8.50' } },
      ],
    });
    const missing = await runBilling(['rules', 'diff', after, '--rule-set', 'book', '--from', '1', '--to', '3'], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/has no valid version 3 of "book"\n$/);
  });
});
