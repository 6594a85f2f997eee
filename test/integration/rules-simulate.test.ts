import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordUsageDocument, SimulatePricingDocument } from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { runBilling } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, setupCatalogue, type Funded } from '../support/usage-fixtures.js';

/*
 * Recorded events re-rated under a candidate rules folder in which gpt-4o input tokens cost 3 and
 * 2.7 per million (instead of 2.5 and 2.25) in the first two tiers of the shared monthly counter.
 * Customer A records 6M and 6M gpt-4o input tokens (the second crosses 10M: 4M in tier 1, 2M in
 * tier 2) and then 1M gpt-4o-mini output tokens (tier 2, priced the same by both); B records 1M
 * gpt-4o input tokens.
 */
const shipped = fileURLToPath(new URL('../../rules/', import.meta.url));
let t: TestApp;
let candidate: string;
let a: Funded;
let b: Funded;
const MINUTE = 60_000;
const base = Math.floor((Date.now() - 50 * MINUTE) / 1000) * 1000;
const at = (m: number) => new Date(base + m * MINUTE);

beforeAll(async () => {
  t = await startTestApp();
  await setupCatalogue(t);
  a = await fundedCustomer(t, null, { startsAt: new Date(base - 60 * MINUTE) });
  b = await fundedCustomer(t, null, { startsAt: new Date(base - 60 * MINUTE) });
  const record = async (c: Funded, key: string, model: string, tokenType: string, quantity: string, when: Date) => {
    const r = await t.admin.ok(RecordUsageDocument, {
      input: { customerId: c.customerId, meterCode: 'llm_tokens', quantity, dimensions: { model, tokenType }, idempotencyKey: key, timestamp: when.toISOString() },
    });
    expect(r.recordUsage.status).toBe('ACCEPTED');
  };
  await record(a, 'a1', 'gpt-4o', 'input', '6000000', at(1));
  await record(a, 'a2', 'gpt-4o', 'input', '6000000', at(2));
  await record(b, 'b1', 'gpt-4o', 'input', '1000000', at(2));
  await record(a, 'a3', 'gpt-4o-mini', 'output', '1000000', at(3));

  candidate = await mkdtemp(path.join(tmpdir(), 'billing-simulate-'));
  await cp(shipped, candidate, { recursive: true });
  const file = path.join(candidate, 'ai-price-book/v2.json');
  const doc = JSON.parse(await readFile(file, 'utf8'));
  const charge = doc.rules.find((r: { name: string }) => r.name === 'gpt-4o input tokens').event.params;
  charge.description = charge.description.replace('per 1M: 2.5', 'per 1M: 3');
  charge.tiers = [
    { upTo: '10000000', unitPrice: '3' },
    { upTo: '100000000', unitPrice: '2.7' },
    { upTo: null, unitPrice: '2.4' },
  ];
  await writeFile(file, JSON.stringify(doc, null, 2));
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (candidate) await rm(candidate, { recursive: true, force: true });
});

const candidateDocuments = async () => [{ file: 'ai-price-book/v2.json', content: await readFile(path.join(candidate, 'ai-price-book/v2.json'), 'utf8') }];
const simulateCli = (args: string[]) => runBilling(['rules', 'simulate', '--rules', candidate, ...args, '--json'], { DATABASE_URL: t.db.url, LOG_LEVEL: 'error' });
const line = (name: string, events: number, current: string, candidate: string, difference: string, percent: string | null) => ({ name, currency: 'USD', events, current, candidate, difference, percent });

describe('billing rules simulate and simulatePricing', () => {
  it('re-rates the recorded events with period counters: exact revenue per customer, per model and per rule set, the same from the CLI and the query', async () => {
    const from = at(0).toISOString();
    const to = at(4).toISOString();
    const cli = await simulateCli(['--from', from, '--to', to]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const report = JSON.parse(cli.stdout);
    expect(report).toMatchObject({ events: 4, refused: 0, unchanged: 0, primed: 0, by: 'model' });
    // A: 15 + 14.5 + 0.45 charged; 18 + (12 + 5.4) + 0.45 under the candidate. B: 2.5 and 3.
    expect(report.customers).toEqual([line(a.externalId, 3, '29.95', '35.85', '5.9', '19.7'), line(b.externalId, 1, '2.5', '3', '0.5', '20')].sort((x, y) => (x.name < y.name ? -1 : 1)));
    expect(report.groups).toEqual([line('gpt-4o', 3, '32', '38.4', '6.4', '20'), line('gpt-4o-mini', 1, '0.45', '0.45', '0', '0')]);
    expect(report.ruleSets).toEqual([line('ai-price-book', 4, '32.45', '38.85', '6.4', '19.72')]);
    expect(report.totals).toEqual([line('USD', 4, '32.45', '38.85', '6.4', '19.72')]);

    const api = await t.admin.ok(SimulatePricingDocument, { input: { rules: await candidateDocuments(), from, to } });
    const s = api.simulatePricing;
    expect({ events: s.events, refused: s.refused, unchanged: s.unchanged }).toEqual({ events: 4, refused: 0, unchanged: 0 });
    expect(s.customers).toEqual(report.customers);
    expect(s.byValue).toEqual(report.groups);
    expect(s.ruleSets).toEqual(report.ruleSets);
    expect(s.totals).toEqual(report.totals);

    const table = await runBilling(['rules', 'simulate', '--rules', candidate, '--from', from, '--to', to, '--by', 'tokenType'], { DATABASE_URL: t.db.url, LOG_LEVEL: 'error' });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^per tokenType$/m);
    expect(table.stdout).toMatch(/^input\s+USD\s+3\s+32\s+38\.4\s+6\.4\s+20%$/m);
    expect(table.stdout).toMatch(/^USD\s+USD\s+4\s+32\.45\s+38\.85\s+6\.4\s+19\.72%$/m);
  });

  it('counts only the events in [from, to), with counters rebuilt from the period start', async () => {
    // a1 (before the window) moves the counter; a3 (at `to`) is left out.
    const from = at(2).toISOString();
    const to = at(3).toISOString();
    const cli = JSON.parse((await simulateCli(['--from', from, '--to', to])).stdout);
    expect(cli).toMatchObject({ events: 2, primed: 1 });
    expect(cli.customers).toEqual([line(a.externalId, 1, '14.5', '17.4', '2.9', '20'), line(b.externalId, 1, '2.5', '3', '0.5', '20')].sort((x, y) => (x.name < y.name ? -1 : 1)));
    const one = JSON.parse((await simulateCli(['--from', from, '--to', to, '--customer', b.externalId])).stdout);
    expect(one.totals).toEqual([line('USD', 1, '2.5', '3', '0.5', '20')]);
    const api = await t.admin.ok(SimulatePricingDocument, { input: { rules: await candidateDocuments(), from, to } });
    expect(api.simulatePricing.customers).toEqual(cli.customers);
  });

  it('refuses a candidate that fails validation, with the file’s errors', async () => {
    const broken = await mkdtemp(path.join(tmpdir(), 'billing-simulate-broken-'));
    try {
      await cp(candidate, broken, { recursive: true });
      await writeFile(path.join(broken, 'hybrid-plan/v1.json'), '{\n  "key": "hybrid-plan",\n  "version": 1,\n  "rules": [}\n');
      const r = await runBilling(['rules', 'simulate', '--rules', broken, '--from', at(0).toISOString(), '--to', at(4).toISOString()], { DATABASE_URL: t.db.url, LOG_LEVEL: 'error' });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^hybrid-plan\/v1\.json:4:13: invalid JSON: a value was expected/m);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
    const api = await t.admin.request(SimulatePricingDocument, {
      input: { rules: [{ file: 'hybrid-plan/v1.json', content: '{\n  "key": "hybrid-plan",\n  "version": 1,\n  "rules": [}\n' }], from: at(0).toISOString(), to: at(4).toISOString() },
    });
    expect(codesOf(api)).toEqual(['VALIDATION_FAILED']);
    expect(JSON.stringify(api.errors![0]!.extensions)).toContain('hybrid-plan/v1.json:4:13: invalid JSON: a value was expected');
    // A window longer than the API allows is refused before anything is read.
    const long = await t.admin.request(SimulatePricingDocument, { input: { rules: await candidateDocuments(), from: '2026-01-01T00:00:00Z', to: '2026-06-01T00:00:00Z' } });
    expect(codesOf(long)).toEqual(['VALIDATION_FAILED']);
  });
});
