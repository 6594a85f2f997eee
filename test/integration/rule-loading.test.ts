import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRuleSetText } from '../../src/rating/validate.js';
import { RecordUsageDocument, RuleSetsDocument } from '../generated/graphql.js';
import { runBilling } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue } from '../support/usage-fixtures.js';

/**
 * Rule files an operator might find in the folder during an incident: nested far too deep,
 * huge, binary, empty, several faults at once. None may take pricing down, crash a command, or
 * hide behind a ready /readyz.
 */
const shipped = fileURLToPath(new URL('../../rules/', import.meta.url));

const deepNot = (depth: number) => {
  let c = '{"fact":"event","path":"$.meter","operator":"equal","value":"x"}';
  for (let i = 0; i < depth; i++) c = `{"not":${c}}`;
  return `{"key":"deep","version":1,"effectiveFrom":"2026-01-01T00:00:00Z","currency":"USD","rules":[{"name":"r","conditions":{"all":[${c}]},"event":{"type":"charge","params":{"id":"c","model":"per_unit","unitPrice":"1"}}}]}`;
};
const PATHOLOGICAL: Record<string, string | Buffer> = {
  'deep/v1.json': deepNot(2000),
  'nested/v1.json': `${'['.repeat(200_000)}${']'.repeat(200_000)}`,
  'huge/v1.json': JSON.stringify({ key: 'huge', version: 1, padding: 'x'.repeat(3 * 1024 * 1024) }),
  'binary/v1.json': Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
  'empty/v1.json': '',
};

async function folderWith(files: Record<string, string | Buffer>, withShipped: boolean): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'billing-rule-loading-'));
  if (withShipped) await cp(shipped, dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.join(dir, path.dirname(file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  return dir;
}

describe('validating pathological rule files', () => {
  it('never throws, and says why for each', () => {
    for (const [file, content] of Object.entries(PATHOLOGICAL)) {
      const result = validateRuleSetText(content.toString(), {});
      expect(result.ok, file).toBe(false);
      if (!result.ok) expect(result.problems[0]!.message, file).toMatch(/nested more than|larger than|not text|invalid JSON/);
    }
    // Condition nesting within the JSON limit is refused by its own rule.
    const tooDeep = validateRuleSetText(deepNot(20));
    expect(tooDeep.ok).toBe(false);
    if (!tooDeep.ok) expect(tooDeep.problems.map((p) => p.message)).toContain('conditions are nested more than 16 deep (all / any / not)');
  });
});

describe('the server with pathological rule files', () => {
  let t: TestApp;
  const dirs: string[] = [];
  beforeAll(async () => {
    dirs.push(await folderWith(PATHOLOGICAL, true));
    t = await startTestApp({ env: { RULES_DIR: dirs[0]!, RULES_WATCH: 'false' } });
    await setupCatalogue(t);
  });
  afterAll(async () => {
    await t?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('serves the valid versions, shows every bad file INVALID with its reason, and /readyz reports them while ready', async () => {
    const ruleSets = (await t.admin.ok(RuleSetsDocument, {})).ruleSets.nodes;
    const invalid = ruleSets.filter((r) => r.status === 'INVALID').map((r) => r.file).sort();
    expect(invalid).toEqual(Object.keys(PATHOLOGICAL).sort());
    for (const r of ruleSets.filter((x) => x.status === 'INVALID')) expect(r.errors[0]!.message).not.toBe('');
    const c = await fundedCustomer(t, '10');
    expect((await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'priced') })).recordUsage.status).toBe('ACCEPTED');
    const ready = await fetch(t.url.replace('/graphql', '/readyz'));
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: { rules: { serving: number; refused: Array<{ file: string }> } } };
    expect(body.checks.rules.serving).toBe(6);
    expect(body.checks.rules.refused.map((r) => r.file).sort()).toEqual(Object.keys(PATHOLOGICAL).sort());
  });

  it('after a restart with only bad files in the folder, the published versions keep serving', async () => {
    dirs.push(await folderWith(PATHOLOGICAL, false));
    const restarted = await startTestApp({ db: t.db, redisPrefix: t.redisPrefix, env: { RULES_DIR: dirs.at(-1)!, RULES_WATCH: 'false' } });
    try {
      const c = await fundedCustomer(restarted, '10');
      const r = (await restarted.admin.ok(RecordUsageDocument, { input: gpt4oInput(c.customerId, 'after-restart') })).recordUsage;
      expect(r).toMatchObject({ status: 'ACCEPTED', event: { charged: '0.25' } });
      expect((await fetch(restarted.url.replace('/graphql', '/readyz'))).status).toBe(200);
    } finally {
      await restarted.app.stop();
    }
  });

  it('a fresh database with nothing but bad files is not ready: nothing prices', async () => {
    dirs.push(await folderWith(PATHOLOGICAL, false));
    const fresh = await startTestApp({ env: { RULES_DIR: dirs.at(-1)!, RULES_WATCH: 'false' } });
    try {
      const ready = await fetch(fresh.url.replace('/graphql', '/readyz'));
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: { rules: { ready: boolean; serving: number } } }).checks.rules).toMatchObject({ ready: false, serving: 0 });
    } finally {
      await fresh.close();
    }
  });
});

describe('the CLI in trouble', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await folderWith(
      {
        ...PATHOLOGICAL,
        // Several faults in one file, reported in one pass.
        'many/v2.json': JSON.stringify({ key: 'many', version: 3, effectiveFrom: 'soon', currency: 'usd', rules: [{ name: 'r', conditions: { all: [] }, event: { type: 'charge', params: { id: 'c', model: 'per_unit', unitPrice: '-1', per: '7' } } }] }, null, 1),
      },
      false,
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('rules validate reports every fault of every file, and never crashes', async () => {
    const r = await runBilling(['rules', 'validate', dir], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    for (const file of Object.keys(PATHOLOGICAL)) expect(r.stdout).toMatch(new RegExp(`^FAIL  ${file.replace('/', '\\/')}:\\d+:\\d+: `, 'm'));
    const many = r.stdout.split('\n').filter((l) => l.startsWith('FAIL  many/v2.json'));
    expect(many.map((l) => /\(at ([^)]+)\)$/.exec(l)?.[1])).toEqual(expect.arrayContaining(['/effectiveFrom', '/currency', '/version', '/rules/0/event/params/unitPrice', '/rules/0/event/params/per']));
  });

  it('says so for a missing folder, and gives a message for bad JSON to eval', async () => {
    const missing = await runBilling(['rules', 'validate', path.join(dir, 'nope')], {});
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toMatch(/^no such rule folder or file: .*nope\n$/);
    const bad = await runBilling(['rules', 'eval', '--rules', shipped, '--event', '{not json'], {});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('error: --event is not valid JSON\n');
  });

  it('billing --version, and serve --help lists the environment variables', async () => {
    const version = await runBilling(['--version'], {});
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    const help = await runBilling(['serve', '--help'], {});
    expect(help.code).toBe(0);
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'PORT', 'STORE_CHECK_INTERVAL_MS', 'INVOICE_ROUNDING']) expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });
});
