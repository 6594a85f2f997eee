import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** The dashboard's files over plain HTTP; the page itself runs in test/browser/dashboard.test.ts. */
describe('dashboard files', () => {
  let t: TestApp;
  let origin: string;

  beforeAll(async () => {
    t = await startTestApp({ store: 'memory' });
    origin = new URL(t.url).origin;
  });

  afterAll(async () => {
    await t?.close();
  });

  it('sends the page with a strict Content-Security-Policy, no inline code, and an ETag', async () => {
    const res = await fetch(`${origin}/dashboard`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).toContain('name="viewport"');
    expect(html).not.toMatch(/<script>|<style|style="|\son[a-z]+=/);
    const again = await fetch(`${origin}/dashboard`, { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('serves every file the page and its modules refer to, and nothing else', async () => {
    const seen = new Set<string>();
    const queue = ['/dashboard'];
    while (queue.length > 0) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await fetch(`${origin}${path}`);
      expect(res.status, path).toBe(200);
      const text = await res.text();
      const refs = [...text.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g), ...text.matchAll(/from '\.\/([^']+)'/g)].map((m) => (m[1]!.startsWith('/') ? m[1]! : `/dashboard/${m[1]}`));
      queue.push(...refs);
    }
    expect([...seen]).toEqual(expect.arrayContaining(['/dashboard/dashboard.css', '/dashboard/dashboard.js', '/dashboard/api.js']));
    expect((await fetch(`${origin}/dashboard/api.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${origin}/dashboard/missing.js`)).status).toBe(404);
    expect((await fetch(`${origin}/dashboard`, { method: 'POST' })).status).toBe(405);
  });
});
