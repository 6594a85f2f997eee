import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('GraphQL over HTTP conformance (graphql-http server audit)', () => {
  it('passes with no errors and no warnings', async () => {
    const fetchFn = (input: string | URL | Request, init?: RequestInit) =>
      fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers).entries()), authorization: `Bearer ${t.adminKey}` } });
    const results: Array<{ name: string; status: string; reason: string | undefined }> = [];
    for (const audit of serverAudits({ url: t.url, fetchFn })) {
      const result = await audit.fn();
      results.push({ name: audit.name, status: result.status, reason: 'reason' in result ? result.reason : undefined });
    }
    const count = (s: string) => results.filter((r) => r.status === s).length;
    const summary = { ok: count('ok'), notice: count('notice'), warn: count('warn'), error: count('error') };
    console.log(`graphql-http audit: ${summary.ok} ok, ${summary.notice} notices, ${summary.warn} warnings, ${summary.error} errors`);
    for (const r of results.filter((r) => r.status !== 'ok')) console.log(`  ${r.status}: ${r.name} — ${r.reason}`);
    expect(results.filter((r) => r.status === 'warn' || r.status === 'error')).toEqual([]);
    expect(summary.ok).toBe(results.length);
  });
});
