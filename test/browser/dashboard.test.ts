import { readFileSync } from 'node:fs';
import { Decimal } from 'decimal.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClockRecordUsageDocument,
  CloseInvoicesDocument,
  CreateAlertDefinitionDocument,
  CreateCustomerDocument,
  CreateCustomerTokenDocument,
  CreateDunningPlanDocument,
  CreateSubscriptionDocument,
  CreateTaxRateDocument,
  CreateTestClockDocument,
  GrantCreditsDocument,
  InvoicesDocument,
  RecordPaymentAttemptDocument,
  RevokeCustomerTokenDocument,
  RecordUsageDocument,
  UpcomingInvoiceDocument,
  UpdateCustomerDocument,
} from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, setupCatalogue, type Funded } from '../support/usage-fixtures.js';
import { findChromium, launchChromium, testResultPath } from './chromium.js';

const chromiumPath = findChromium();
if (!chromiumPath) {
  console.warn('SKIPPED: the dashboard browser tests need Chromium at /usr/bin/chromium (apt-get install -y chromium) or CHROMIUM_PATH.');
}

describe.skipIf(!chromiumPath)('customer dashboard in headless Chromium', () => {
  let t: TestApp;
  let origin: string;
  let browser: Browser;
  let a: Funded;
  let b: Funded;
  let tokenA: string;

  beforeAll(async () => {
    t = await startTestApp();
    origin = new URL(t.url).origin;
    await setupCatalogue(t);
    // Subscribed 45 days ago, so that an earlier period has closed and has an invoice.
    a = await fundedCustomer(t, '10', { startsAt: new Date(Date.now() - 45 * 86_400_000) });
    b = await fundedCustomer(t, '5');
    tokenA = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId: a.customerId, ttlSeconds: 600 } })).createCustomerToken.token;
    await t.admin.ok(CreateAlertDefinitionDocument, { input: { walletId: a.walletId, metric: 'WALLET_BALANCE', threshold: '9.9', name: 'Balance under 9.90' } });
    browser = await launchChromium(chromiumPath!);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A page with its console errors and uncaught exceptions collected (CSP violations are errors). */
  async function openPage(options: Parameters<Browser['newContext']>[0] = {}): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', ...options });
    // Fail on a missing element well before vitest's own test timeout, with Playwright's message.
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    return { context, page, problems };
  }

  /** en-US dollars as the page shows them: cents, with the places it needs below a cent. */
  const usdFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const usd = { format: (x: string) => usdFormat.format(x as Intl.StringNumericLiteral) };
  const addUsd = (x: string, y: string) => new Decimal(x).plus(y).toString();
  let balanceNow = '$9.75';

  /** A token of its own for a test: each draws on its own read budget, as each browser session would. */
  const freshToken = async (customerId: string) => (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId, ttlSeconds: 600 } })).createCustomerToken.token;
  const dashboardUrl = (token: string, customerId: string) => `${origin}/dashboard#token=${encodeURIComponent(token)}&customer=${customerId}`;
  const balanceIs = (page: Page, text: string) => page.getByTestId('balance').filter({ hasText: text }).waitFor();

  it('shows the live balance, changes it without a reload, and reaches no other customer', async () => {
    const { context, page, problems } = await openPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(dashboardUrl(tokenA, a.customerId));
    await balanceIs(page, '$10.00');
    await page.locator('#connection[data-state="live"]').waitFor();
    expect(page.url()).not.toContain(tokenA);
    expect(await page.locator('#balance-body').getAttribute('aria-live')).toBe('polite');
    await page.evaluate('window.sameDocument = true');

    const recorded = await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(a.customerId, 'dashboard-1') });
    expect(recorded.recordUsage.wallet?.balance).toBe('9.75');
    await balanceIs(page, '$9.75');
    await page.getByTestId('available').filter({ hasText: '$9.75' }).waitFor();
    await page.locator('#alerts-body li', { hasText: 'Balance under 9.90' }).waitFor();

    // A second model: the usage sections follow the pushed events without a reload.
    const second = await t.admin.ok(RecordUsageDocument, { input: { ...gpt4oInput(a.customerId, 'dashboard-2'), dimensions: { model: 'gpt-4o-mini', tokenType: 'input' } } });
    expect(second.recordUsage.status).toBe('ACCEPTED');
    balanceNow = usd.format(second.recordUsage.wallet!.balance);
    await balanceIs(page, balanceNow);
    // Meters and plans by their display names, with requests beside the quantity.
    await page.locator('#meters-body tr', { hasText: 'LLM tokens' }).filter({ hasText: '200,000 tokens' }).waitFor();
    expect(await page.locator('#meters-body tbody tr').first().locator('td').allInnerTexts()).toEqual(['200,000 tokens', '2', usd.format(addUsd('0.25', second.recordUsage.event!.charged))]);
    expect(await page.getByTestId('plan-name').innerText()).toBe('API');
    await page.locator('#explorer-body .legend li', { hasText: 'gpt-4o-mini' }).waitFor();
    expect(await page.locator('#explorer-body .legend li').allInnerTexts()).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(await page.locator('#explorer-body svg.chart rect').count()).toBe(2);
    // Tokens and requests per model and token type.
    await page.locator('#models-body tbody tr', { hasText: 'gpt-4o-mini' }).waitFor();
    const models = await page.locator('#models-body tbody tr').evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => (c as unknown as { innerText: string }).innerText)));
    expect(models).toEqual([
      ['gpt-4o', 'input', '100,000', '1', '$0.25'],
      ['gpt-4o-mini', 'input', '100,000', '1', usd.format(second.recordUsage.event!.charged)],
    ]);
    expect(await page.locator('#models-body thead th').allInnerTexts()).toEqual(['Model', 'Token type', 'LLM tokens', 'Requests', 'Charged']);
    const spent = usd.format(addUsd('0.25', second.recordUsage.event!.charged));
    // The upcoming invoice follows the usage too.
    await page.locator('#upcoming-body tr', { hasText: 'Usage' }).filter({ hasText: spent }).waitFor();
    await page.getByTestId('period-spend').filter({ hasText: spent }).waitFor();
    expect(await page.getByTestId('period-projected').innerText()).not.toBe('$0.00');
    expect(await page.evaluate('window.sameDocument')).toBe(true);

    const body = await page.locator('body').innerText();
    expect(body).toContain(a.externalId);
    expect(body).not.toContain(b.externalId);
    const asPage = (q: string, variables: Record<string, unknown>) =>
      page.evaluate(
        async ({ q, variables, token }) => {
          const res = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: q, variables }) });
          return (await res.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
        },
        { q, variables, token: tokenA },
      );
    const other = await asPage('query($id: ID!) { customer(id: $id) { name } }', { id: b.customerId });
    expect(other).toEqual({ data: { customer: null } });
    const otherWallets = await asPage('query($id: ID!) { wallets(customerId: $id) { nodes { balance } } }', { id: b.customerId });
    expect(otherWallets.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    await page.locator('body[data-ready="true"]').waitFor();
    for (const section of ['period', 'upcoming', 'explorer', 'models', 'meters', 'credits', 'settings', 'alerts', 'invoices']) {
      expect(await page.locator(`#${section}-body`).innerText(), section).not.toContain('Loading');
    }
    await page.screenshot({ path: testResultPath('dashboard.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('fits a phone screen without sideways scrolling, and lists the invoices of closed periods', async () => {
    const closed = await t.admin.ok(CloseInvoicesDocument, {});
    expect(closed.closeInvoices.failed).toBe(0);
    const { invoices } = await t.admin.ok(InvoicesDocument, { customerId: a.customerId });
    expect(invoices.nodes.length).toBeGreaterThan(0);
    const newest = invoices.nodes[0]!;
    const { context, page, problems } = await openPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.goto(dashboardUrl(tokenA, a.customerId));
    await balanceIs(page, balanceNow);
    await page.locator('body[data-ready="true"]').waitFor();
    const row = page.locator('#invoices-body tbody tr').first();
    expect(await row.locator('th').innerText()).toContain(newest.number ?? 'Draft');
    expect(await row.innerText()).toContain(newest.status.toLowerCase());
    expect(await page.locator('#invoices-body tbody tr').count()).toBe(invoices.nodes.length);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: testResultPath('dashboard-phone.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('links each invoice to its page and PDF, which open in a new tab without the token', async () => {
    expect((await t.admin.ok(CloseInvoicesDocument, {})).closeInvoices.failed).toBe(0);
    const newest = (await t.admin.ok(InvoicesDocument, { customerId: a.customerId })).invoices.nodes[0]!;
    const { context, page, problems } = await openPage();
    await page.goto(dashboardUrl(await freshToken(a.customerId), a.customerId));
    await page.locator('body[data-ready="true"]').waitFor();
    const row = page.locator('#invoices-body tbody tr').first();
    const title = newest.number ? `Invoice ${newest.number}` : 'Draft invoice';
    const [tab] = await Promise.all([context.waitForEvent('page'), row.getByRole('link', { name: `${title}: printable page` }).click()]);
    await tab.locator('h1').waitFor();
    expect(new URL(tab.url()).pathname).toBe(`/invoices/${newest.id}.html`);
    expect(await tab.locator('h1').innerText()).toBe(title);
    expect(await tab.locator('body').innerText()).toContain(a.externalId);

    // The PDF link, fetched as a browser follows it: no Authorization header, no cookie.
    const pdfHref = (await row.getByRole('link', { name: `${title}: PDF` }).getAttribute('href'))!;
    expect(pdfHref).toMatch(new RegExp(`^/invoices/${newest.id}\\.pdf\\?expires=\\d+&signature=`));
    const fetchHead = (href: string) =>
      page.evaluate(async (h) => {
        const r = await fetch(h, { credentials: 'omit' });
        return { status: r.status, type: r.headers.get('content-type'), head: new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5)) };
      }, href);
    expect(await fetchHead(pdfHref)).toEqual({ status: 200, type: 'application/pdf', head: '%PDF-' });
    expect(problems).toEqual([]);
    // The link opens that invoice only (the browser logs the refusal, expected here).
    expect((await fetchHead(pdfHref.replace(newest.id, b.customerId))).status).toBe(403);
    await context.close();
  });

  it("lives at the test clock's time for a customer on one, and says so", async () => {
    const { testClock } = (await t.admin.ok(CreateTestClockDocument, { input: { name: 'Browser trial', frozenTime: '2026-01-20T15:00:00Z' } })).createTestClock;
    const externalId = `clocked-browser-${process.pid}`;
    const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: 'Clocked Co', currency: 'USD', testClockId: testClock.id } })).createCustomer;
    await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: 'api' } });
    await t.admin.ok(ClockRecordUsageDocument, { input: gpt4oInput(customer.id, `${externalId}-1`) });
    const { context, page, problems } = await openPage();
    await page.goto(dashboardUrl(await freshToken(customer.id), customer.id));
    await page.locator('body[data-ready="true"]').waitFor();
    expect(await page.locator('#test-clock').innerText()).toBe('Test clock "Browser trial": the time here is Jan 20, 2026, 3:00 PM, not the real time.');
    // The range ends on the clock's day, and the usage stamped with its time is this period's.
    expect(await page.locator('#explorer-to').inputValue()).toBe('2026-01-20');
    await page.locator('#meters-body', { hasText: 'LLM tokens' }).waitFor();
    expect(await page.locator('#meters-body').innerText()).toContain('$0.25');
    await page.screenshot({ path: testResultPath('dashboard-test-clock.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('takes the token from a labelled form by keyboard, and refuses another customer', async () => {
    const tokenA = await freshToken(a.customerId);
    const { context, page } = await openPage();
    await page.goto(`${origin}/dashboard`);
    for (const role of ['banner', 'main', 'contentinfo'] as const) await page.getByRole(role).waitFor();
    expect(await page.evaluate('document.activeElement.id')).toBe('token-input');
    expect(await page.getByRole('link', { name: 'Skip to content' }).getAttribute('href')).toBe('#main');
    await page.getByLabel('Access token').fill(tokenA);
    await page.getByLabel('Customer id').fill(b.customerId);
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'cannot read that customer' }).waitFor();
    expect(await page.locator('#dashboard').isHidden()).toBe(true);

    await page.getByLabel('Access token').focus();
    await page.keyboard.type(tokenA);
    await page.keyboard.press('Tab');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(a.customerId);
    await page.keyboard.press('Enter');
    await balanceIs(page, balanceNow);
    await page.locator('main:focus').waitFor();
    await page.reload();
    await balanceIs(page, balanceNow);
    await page.getByRole('button', { name: 'Forget token' }).click();
    await page.getByLabel('Access token').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await context.close();
  });

  it('goes back to the form with a message when its token is revoked', async () => {
    const { customerToken, token } = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId: a.customerId } })).createCustomerToken;
    const { context, page } = await openPage();
    await page.goto(dashboardUrl(token, a.customerId));
    await page.locator('#connection[data-state="live"]').waitFor();
    await t.admin.ok(RevokeCustomerTokenDocument, { input: { id: customerToken.id } });
    await page.getByRole('alert').filter({ hasText: 'refused or has expired' }).waitFor();
    expect(await page.locator('#dashboard').isHidden()).toBe(true);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await context.close();
  });

  it('says the account is suspended as it happens, and takes it back once the invoice is paid', async () => {
    const dunning = { retryDays: [], policy: 'SUSPEND' as const };
    await t.admin.ok(CreateDunningPlanDocument, { input: { code: 'hybrid-suspend', name: 'Hybrid', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '49', charges: [{ meterCode: 'llm_tokens', ruleSetKey: 'hybrid-plan' }], dunning } });
    const c = await fundedCustomer(t, '10', { plan: 'hybrid-suspend', startsAt: new Date(Date.now() - 45 * 86_400_000) });
    await t.app.services.invoices.closeCustomer(c.customerId, new Date());
    const invoice = (await t.admin.ok(InvoicesDocument, { customerId: c.customerId })).invoices.nodes.find((i) => i.status === 'FINALIZED' && Number(i.amountDue) > 0)!;
    const { token } = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId: c.customerId } })).createCustomerToken;
    const { context, page, problems } = await openPage();
    await page.goto(dashboardUrl(token, c.customerId));
    await balanceIs(page, '$10.00');
    expect(await page.locator('#standing').isHidden()).toBe(true);
    // No retry day: the first failure makes the invoice uncollectible, and the plan suspends.
    await t.admin.ok(RecordPaymentAttemptDocument, { input: { invoiceId: invoice.id, outcome: 'FAILED', failureReason: 'card declined', idempotencyKey: 'browser-declined' } });
    await page.getByRole('alert').filter({ hasText: `Usage is suspended: invoice ${invoice.number} is uncollectible` }).waitFor();
    await t.admin.ok(RecordPaymentAttemptDocument, { input: { invoiceId: invoice.id, outcome: 'SUCCEEDED', idempotencyKey: 'browser-paid' } });
    await page.locator('#standing').waitFor({ state: 'hidden' });
    expect(problems).toEqual([]);
    await context.close();
  });
  /** Every form control has a label and every button a name: what a screen reader announces. */
  const unlabelled = (page: Page) =>
    page.locator('input, select, button').evaluateAll((controls) =>
      controls
        .filter((e) => !e.closest('[hidden]'))
        .filter((e) => !((e as unknown as { labels: unknown[] | null }).labels?.length || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent!.trim())))
        .map((e) => e.outerHTML),
    );

  describe('a customer in Tokyo with credits, tax and a token that may manage', () => {
    let m: Funded;
    let manageToken: string;
    let readToken: string;
    const tokyo = (options: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat('en-US', { ...options, timeZone: 'Asia/Tokyo' });
    const expires = new Date(Date.now() + 20 * 86_400_000);

    beforeAll(async () => {
      m = await fundedCustomer(t, '10', { startsAt: new Date(Date.now() - 10 * 86_400_000) });
      await t.admin.ok(CreateTaxRateDocument, { input: { code: 'vat-browser', name: 'VAT', percent: '20', inclusive: false } });
      await t.admin.ok(UpdateCustomerDocument, { input: { id: m.customerId, timezone: 'Asia/Tokyo', taxRateCode: 'vat-browser' } });
      const record = (key: string, input: Partial<ReturnType<typeof gpt4oInput>> & { timestamp?: string }) => t.admin.ok(RecordUsageDocument, { input: { ...gpt4oInput(m.customerId, key), ...input } });
      await record('tokyo-1', { quantity: '1000000' });
      await record('tokyo-2', { dimensions: { model: 'gpt-4o-mini', tokenType: 'output' } });
      // A small day: ten tokens, a fraction of a cent, three days ago.
      await record('tokyo-3', { quantity: '10', timestamp: new Date(Date.now() - 3 * 86_400_000).toISOString() });
      await t.admin.ok(GrantCreditsDocument, { input: { walletId: m.walletId!, amount: '5', expiresAt: expires.toISOString(), reason: 'Welcome credit', idempotencyKey: 'tokyo-grant' } });
      const mint = async (scopes: Array<'READ' | 'MANAGE'>) => (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId: m.customerId, scopes, ttlSeconds: 600 } })).createCustomerToken.token;
      manageToken = await mint(['READ', 'MANAGE']);
      readToken = await mint(['READ']);
    });

    it('shows credit grants, the upcoming invoice with fees and tax, and every date in the customer zone', async () => {
      const { context, page, problems } = await openPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(dashboardUrl(readToken, m.customerId));
      await page.locator('body[data-ready="true"]').waitFor();
      expect(await page.locator('#zone-name').innerText()).toBe('Asia/Tokyo');
      const grant = await page.locator('#credits-body tbody tr').evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => (c as unknown as { innerText: string }).innerText)));
      expect(grant).toEqual([['Welcome credit', '$5.00', '$5.00', tokyo({ dateStyle: 'medium' }).format(expires)]]);

      const upcoming = (await t.admin.ok(UpcomingInvoiceDocument, { customerId: m.customerId })).upcomingInvoice!;
      const rows = await page.locator('#upcoming-body tbody tr').evaluateAll((trs) => trs.map((r) => [...r.children].map((c) => (c as unknown as { innerText: string }).innerText)));
      expect(rows.map((r) => r[0])).toEqual(['Usage', 'Fees', 'Tax (VAT, 20%)', 'Total', 'Paid from your balance and credits', 'Due']);
      expect(rows[2]![1]).toBe(usd.format(upcoming.invoice.tax));
      expect(rows[3]![1]).toBe(usd.format(upcoming.invoice.total));
      expect(Number(upcoming.invoice.tax)).toBeGreaterThan(0);
      const period = await page.locator('#upcoming-body p').first().innerText();
      expect(period).toContain(tokyo({ dateStyle: 'medium' }).format(new Date(upcoming.invoice.periodStart)).replace(/, \d{4}$/, ''));
      expect(problems).toEqual([]);
      await context.close();
    });

    it('explores usage by range, bucket, grouping and filter, keeps small days visible, and downloads what it shows as CSV', async () => {
      const { context, page, problems } = await openPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(dashboardUrl(readToken, m.customerId));
      await page.locator('body[data-ready="true"]').waitFor();
      const explorer = page.locator('#explorer-body');
      // The default: 14 days by day, by model; the small day has a visible bar and its exact amount.
      expect(await explorer.locator('.legend li').allInnerTexts()).toEqual(['gpt-4o', 'gpt-4o-mini']);
      const heights = await explorer.locator('svg.chart rect').evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('height'))));
      expect(heights.length).toBe(3);
      expect(Math.min(...heights)).toBeGreaterThanOrEqual(3);
      const smallDay = tokyo({ month: 'short', day: 'numeric' }).format(new Date(Date.now() - 3 * 86_400_000));
      await explorer.locator('summary').click();
      expect(await explorer.locator('tr', { hasText: smallDay }).locator('td').first().innerText()).toBe('$0.000025');
      await page.screenshot({ path: testResultPath('dashboard-explorer.png'), fullPage: true });

      // Hours of today (in Tokyo), by token type, by keyboard: Enter in a field applies the form.
      const today = tokyo({ year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date()).reduce((o, p) => ({ ...o, [p.type]: p.value }), {} as Record<string, string>);
      const todayText = `${today.year}-${today.month}-${today.day}`;
      await page.getByLabel('From').fill(todayText);
      await page.getByLabel('Bucket').selectOption('HOUR');
      await page.getByLabel('Group by').selectOption({ label: 'Token type' });
      await page.getByLabel('Value').focus();
      await page.keyboard.press('Enter');
      await explorer.locator('.legend li', { hasText: 'output' }).waitFor();
      expect(await explorer.locator('.legend li').allInnerTexts()).toEqual(['input', 'output']);
      expect(await page.getByLabel('Bucket').inputValue()).toBe('HOUR');

      // Filtered by model: only gpt-4o-mini's output tokens.
      await page.getByLabel('Filter by').selectOption({ label: 'Model' });
      await page.getByLabel('Value').fill('gpt-4o-mini');
      await page.getByRole('button', { name: 'Show' }).click();
      await explorer.locator('.legend li').filter({ hasText: 'input' }).waitFor({ state: 'detached' });
      const totals = await explorer.locator('table').last().locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => (c as unknown as { innerText: string }).innerText)));
      expect(totals).toEqual([['output', '100,000', '1', expect.stringMatching(/^\$0\.\d+$/)]]);

      // The CSV of what is shown, from the export endpoint, with the token in a header.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
      expect(download.suggestedFilename()).toBe(`usage-${todayText}-to-${todayText}.csv`);
      const csv = readFileSync((await download.path())!, 'utf8').split('\r\n');
      expect(csv[0]).toBe('bucket_start,bucket_end,meter,meter_name,tokenType,currency,quantity,events,amount,charged');
      expect(csv.slice(1, -1)).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:00:00\+09:00,\d{4}-\d\d-\d\dT\d\d:00:00\+09:00,llm_tokens,LLM tokens,output,USD,100000,1,0\.\d+,0\.\d+$/)]);
      expect(csv.at(-1)).toBe('');
      await page.getByRole('status').filter({ hasText: 'CSV downloaded.' }).waitFor();

      expect(await unlabelled(page)).toEqual([]);
      expect(problems).toEqual([]);

      // Too much for one request: said in place, and the form stays to choose again (the
      // browser logs the refused request, expected here).
      await page.getByLabel('From').fill(new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10));
      await page.getByRole('button', { name: 'Show' }).click();
      await explorer.getByRole('alert').filter({ hasText: 'Choose a shorter range' }).waitFor();
      expect(await page.getByLabel('Bucket').inputValue()).toBe('HOUR');
      expect(problems.every((p) => p.startsWith('Failed to load resource'))).toBe(true);
      await context.close();
    });

    it('lets a MANAGE token set the spending cap and alert thresholds from the page, on a phone too', async () => {
      const { context, page, problems } = await openPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
      await page.goto(dashboardUrl(manageToken, m.customerId));
      await page.locator('body[data-ready="true"]').waitFor();
      const settings = page.locator('#settings-body');
      expect(await page.getByTestId('settings-cap').innerText()).toBe('No spending cap.');

      await page.getByLabel('Spending cap per period (USD)').fill('twelve');
      await page.getByRole('button', { name: 'Save cap' }).click();
      await settings.getByRole('alert').filter({ hasText: 'Enter the cap as an amount' }).waitFor();
      await page.getByLabel('Spending cap per period (USD)').fill('25');
      await page.keyboard.press('Enter');
      await page.getByTestId('settings-cap').filter({ hasText: 'Spending cap: $25.00 per billing period.' }).waitFor();
      await page.getByTestId('period-cap').filter({ hasText: 'of $25.00' }).waitFor();
      await settings.getByRole('status').filter({ hasText: 'Saving the spending cap: done.' }).waitFor();

      await page.getByLabel('Alert me when').selectOption({ label: 'Spend this period reaches' });
      await page.getByRole('textbox', { name: 'Threshold' }).fill('7');
      await page.getByRole('button', { name: 'Add alert' }).click();
      const item = settings.locator('li', { hasText: 'spend this period reaches 7' });
      await item.waitFor();
      expect(await item.innerText()).toContain('$7.00');
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      // The usage tables fit the card, without scrolling sideways inside it.
      for (const section of ['models', 'meters', 'credits', 'upcoming']) {
        const overflow = await page.locator(`#${section}-body .scroll`).evaluate((e) => e.scrollWidth - e.clientWidth);
        expect(overflow, section).toBeLessThanOrEqual(0);
      }
      expect(await unlabelled(page)).toEqual([]);
      await page.screenshot({ path: testResultPath('dashboard-manage-phone.png'), fullPage: true });

      await item.getByRole('button', { name: 'Delete alert “spend this period reaches 7”' }).click();
      await item.waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'Remove cap' }).click();
      await page.getByTestId('settings-cap').filter({ hasText: 'No spending cap.' }).waitFor();
      expect(problems).toEqual([]);
      await context.close();

      // A READ token sees the same settings, and no form to change them.
      const reader = await openPage();
      await reader.page.goto(dashboardUrl(readToken, m.customerId));
      await reader.page.locator('body[data-ready="true"]').waitFor();
      await reader.page.locator('#settings-body', { hasText: 'This link can only view' }).waitFor();
      expect(await reader.page.locator('#cap-form, #alert-form, #settings-body button').count()).toBe(0);
      expect(reader.problems).toEqual([]);
      await reader.context.close();
    });
  });
});
