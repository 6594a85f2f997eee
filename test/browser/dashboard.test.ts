import { Decimal } from 'decimal.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CloseInvoicesDocument,
  CreateAlertDefinitionDocument,
  CreateCustomerTokenDocument,
  CreateDunningPlanDocument,
  InvoicesDocument,
  RecordPaymentAttemptDocument,
  RevokeCustomerTokenDocument,
  RecordUsageDocument,
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

  /** en-US dollars to four places, formatted from the API's decimal string as the page does it. */
  const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });
  const addUsd = (x: string, y: string) => new Decimal(x).plus(y).toString();
  let balanceNow = '$9.75';

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
    expect(second.recordUsage.accepted).toBe(true);
    balanceNow = usd.format(second.recordUsage.wallet!.balance as Intl.StringNumericLiteral);
    await balanceIs(page, balanceNow);
    await page.locator('#meters-body tr', { hasText: 'llm_tokens' }).filter({ hasText: '200,000' }).waitFor();
    await page.locator('#daily-body .legend li', { hasText: 'gpt-4o-mini' }).waitFor();
    expect(await page.locator('#daily-body .legend li').allInnerTexts()).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(await page.locator('#daily-body svg.chart rect').count()).toBe(2);
    const spent = usd.format(addUsd('0.25', second.recordUsage.event!.charged) as Intl.StringNumericLiteral);
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
    const otherWallets = await asPage('query($id: ID!) { wallets(customerId: $id) { balance } }', { id: b.customerId });
    expect(otherWallets.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    await page.locator('body[data-ready="true"]').waitFor();
    for (const section of ['period', 'meters', 'daily', 'alerts', 'invoices']) {
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
    await page.goto(dashboardUrl(tokenA, a.customerId));
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

  it('takes the token from a labelled form by keyboard, and refuses another customer', async () => {
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
});
