import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomersDocument } from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { runBilling } from '../support/process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
let env: Record<string, string>;
beforeAll(async () => {
  t = await startTestApp();
  env = { DATABASE_URL: t.db.url, LOG_LEVEL: 'warn' };
});
afterAll(() => t.close());

describe('billing command', () => {
  it('creates an ADMIN key and prints it as the last line; the key works, then is listed and revoked', async () => {
    const created = await runBilling(['keys', 'create', '--role', 'ADMIN', '--name', 'ops laptop'], env);
    expect(created.code).toBe(0);
    const lines = created.stdout.trim().split('\n');
    const secret = lines.at(-1)!;
    expect(secret).toMatch(/^bk_[A-Za-z0-9_-]{40}$/);
    const id = /key ([0-9a-f-]{36})/.exec(created.stdout)![1]!;

    expect(codesOf(await t.client(secret).request(CustomersDocument, {}))).toEqual([]);

    const listed = await runBilling(['keys', 'list'], env);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain('ops laptop');
    expect(listed.stdout).not.toContain(secret);

    const revoked = await runBilling(['keys', 'revoke', id], env);
    expect(revoked.code).toBe(0);
    const rows = await t.app.sql.query<{ revoked: boolean }>('select revoked_at is not null as revoked from api_key where id = $1', [id]);
    expect(rows).toEqual([{ revoked: true }]);
  });

  it('revokes keys that then stop working at once for a server that had not cached them', async () => {
    const created = await runBilling(['keys', 'create', '--role', 'INGEST'], env);
    const secret = created.stdout.trim().split('\n').at(-1)!;
    const id = /key ([0-9a-f-]{36})/.exec(created.stdout)![1]!;
    await runBilling(['keys', 'revoke', id], env);
    expect(codesOf(await t.client(secret).request(CustomersDocument, {}))).toEqual(['UNAUTHENTICATED']);
  });

  it('explains a bad role and exits 1', async () => {
    const result = await runBilling(['keys', 'create', '--role', 'ROOT'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/role: must be ADMIN, INGEST or CUSTOMER/);
  });

  it('migrates idempotently', async () => {
    const result = await runBilling(['migrate'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('database is up to date\n');
  });

  it('reports configuration problems together and exits 1', async () => {
    const result = await runBilling(['serve'], { DATABASE_URL: 'nope', PORT: 'x' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/PORT/);
    expect(result.stderr).toMatch(/DATABASE_URL/);
  });
});
