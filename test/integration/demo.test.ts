import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, launchChromium, testResultPath } from '../browser/chromium.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { freePort } from '../support/process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEMO_BIN = fileURLToPath(new URL('../../bin/demo.js', import.meta.url));

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

/** The demo as `npm run demo -- --days 3` runs it, on the test database and the in-process store. */
function startDemo(env: Record<string, string>) {
  const child = spawn(process.execPath, [DEMO_BIN, '--days', '3'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (/Serving until Ctrl-C/.test(stderr)) resolve(stderr);
    });
    void exited.then((code) => reject(new Error(`the demo exited with ${code} before it was ready:\n${stderr}`)));
  });
  return { child, ready, exited, stdout: () => stdout };
}

async function graphql(url: string, token: string, query: string, variables: Record<string, unknown>) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as { data?: any; errors?: unknown[] };
}

describe('npm run demo', () => {
  it('prints a dashboard link, an invoice link and an ADMIN key that work, keeps stdout to JSON lines, and drains on SIGTERM', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const demo = startDemo({ DATABASE_URL: db.url, PORT: String(port), LOG_LEVEL: 'warn' });
    try {
      const printed = await demo.ready;
      const dashboard = /^ {2}(http:\/\/127\.0\.0\.1:\d+\/dashboard#\S+)$/m.exec(printed)?.[1];
      const [html = '', pdf = ''] = [...printed.matchAll(/^ {2}(http:\/\/127\.0\.0\.1:\d+\/invoices\/\S+)$/gm)].map((m) => m[1]!);
      const number = /^Invoice (\S+) \(/m.exec(printed)?.[1];
      const adminKey = /^ {2}(bk_\S+)$/m.exec(printed)?.[1];
      expect(dashboard && html && pdf && number && adminKey, printed).toBeTruthy();

      const page = await fetch(dashboard!);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const fragment = new URLSearchParams(new URL(dashboard!).hash.slice(1));
      const token = fragment.get('token')!;
      const customerId = fragment.get('customer')!;

      const answer = await graphql(`http://127.0.0.1:${port}/graphql`, token, 'query ($c: ID!) { viewer { role customerId customerToken } customer(id: $c) { timezone testClock { id } } invoices(customerId: $c) { nodes { number status kind total } } }', { c: customerId });
      expect(answer.errors).toBeUndefined();
      expect(answer.data.viewer).toEqual({ role: 'CUSTOMER', customerId, customerToken: true });
      expect(answer.data.customer.timezone).toBe('Europe/Berlin');
      expect(answer.data.customer.testClock).not.toBeNull();
      const invoice = (answer.data.invoices.nodes as Array<{ number: string; status: string; kind: string; total: string }>).find((i) => i.number === number);
      expect(invoice).toMatchObject({ status: 'FINALIZED', kind: 'PERIOD' });
      expect(new Decimal(invoice!.total).gt(0)).toBe(true);

      // The link opens the dashboard with every section loaded (when Chromium is here to open it).
      const chromiumPath = findChromium();
      if (chromiumPath) {
        const browser = await launchChromium(chromiumPath);
        try {
          const tab = await browser.newPage({ locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1280, height: 900 } });
          await tab.goto(dashboard!);
          await tab.locator('body[data-ready="true"]').waitFor({ timeout: 20_000 });
          expect(await tab.locator('#test-clock').innerText()).toMatch(/^Test clock "demo /);
          expect(await tab.locator('main').innerText()).not.toMatch(/Could not load this section|Not available on this server/);
          expect(await tab.locator('#invoices-body').innerText()).toContain(number!);
          await tab.screenshot({ path: testResultPath('demo-dashboard.png'), fullPage: true });
        } finally {
          await browser.close();
        }
      }

      const document = await fetch(html);
      expect(document.status).toBe(200);
      expect(await document.text()).toContain(number!);
      const printable = await fetch(pdf);
      expect(printable.status).toBe(200);
      expect(printable.headers.get('content-type')).toMatch(/application\/pdf/);

      const admin = await graphql(`http://127.0.0.1:${port}/graphql`, adminKey!, '{ viewer { role } }', {});
      expect(admin.data?.viewer).toEqual({ role: 'ADMIN' });

      demo.child.kill('SIGTERM');
      expect(await demo.exited).toBe(0);
      for (const line of demo.stdout().split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
    } finally {
      demo.child.kill('SIGKILL');
      await demo.exited;
    }
  });
});
