import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBilling } from '../support/process.js';

const shipped = fileURLToPath(new URL('../../rules/', import.meta.url));
let copy: string;
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
    expect(r.stdout).toMatch(/4 file\(s\), 0 fault\(s\)/);
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
    expect(r.stdout).toMatch(/20 example\(s\), 0 failed/);
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
