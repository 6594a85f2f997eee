import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import {
  CreateApiKeyDocument,
  CreateBillingCustomerDocument,
  CreateCustomerTokenDocument,
  CreatePlanDocument,
  CreateSubscriptionDocument,
  InvoiceDocumentDocument,
  InvoiceDocumentsDocument,
  InvoiceLinkDocument,
  UpdateBillingCustomerDocument,
  VoidAndReissueInvoiceDocument,
  type CreateCustomerInput,
  type InvoiceDocumentFieldsFragment,
} from '../generated/graphql.js';
import { codesOf, type GraphQLResult } from '../support/graphql-client.js';
import { pdfTextLines } from '../support/pdf-text.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Invoice documents: seller and buyer frozen onto the invoice when it is finalized, payment terms
 * and a due date in the customer's time zone, the page and the PDF, signed links, corrections.
 * Customers are in Europe/Berlin on a monthly plan of 49.50 (no tax); February's invoice is
 * finalized on March 2 at 00:00 UTC (01:00 in Berlin), once its day of grace is over.
 */
const clock = new FixedClock(new Date('2026-02-01T00:00:00Z'));
const SELLER = {
  SELLER_NAME: 'Acme Metering GmbH',
  SELLER_ADDRESS: 'Hauptstraße 1\\n10115 Berlin\\nGermany',
  SELLER_TAX_ID: 'DE123456789',
  SELLER_EMAIL: 'billing@acme.example',
};
const BILLING_DETAILS = {
  legalName: 'Müller Analytics GmbH',
  email: 'ap@mueller.example',
  taxId: 'DE987654321',
  address: { line1: 'Friedrichstraße 200', line2: '3. OG', city: 'Berlin', postalCode: '10117', region: null, country: 'de' },
};
const FINALIZE_AT = '2026-03-02T00:00:00.000Z';

let t: TestApp;
let seq = 0;

beforeAll(async () => {
  t = await startTestApp({ clock, env: { RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', INVOICE_PAYMENT_TERMS_DAYS: '14', ...SELLER } });
  await t.admin.ok(CreatePlanDocument, { input: { code: 'docs-monthly', name: 'Monthly', currency: 'USD', billingInterval: 'MONTHLY', baseFee: '49.50', charges: [] } });
});

afterAll(async () => {
  await t?.close();
});

async function customer(input: Partial<CreateCustomerInput> = {}): Promise<string> {
  const externalId = `doc-${process.pid}-${seq++}`;
  const { customer: c } = (await t.admin.ok(CreateBillingCustomerDocument, { input: { externalId, name: `Display ${externalId}`, currency: 'USD', timezone: 'Europe/Berlin', ...input } })).createCustomer;
  clock.set('2026-02-01T00:00:00Z');
  await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: c.id, planCode: 'docs-monthly', startsAt: '2026-01-31T23:00:00.000Z', baseFeeTiming: 'ARREARS' } });
  return c.id;
}

/** February's invoice, finalized on FINALIZE_AT. */
async function finalized(app: TestApp, customerId: string, at = FINALIZE_AT): Promise<InvoiceDocumentFieldsFragment> {
  clock.set(at);
  const closed = await app.app.services.invoices.closeCustomer(customerId, new Date(at));
  expect(closed.finalized).toHaveLength(1);
  return (await app.admin.ok(InvoiceDocumentDocument, { id: closed.finalized[0]! })).invoice;
}

const origin = () => t.url.replace('/graphql', '');
const get = (path: string, key?: string) => fetch(`${origin()}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
const fields = (r: GraphQLResult<unknown>) => ((r.errors?.[0]?.extensions?.fields ?? []) as Array<{ path: string }>).map((f) => f.path).sort();

describe('billing details', () => {
  it('are validated field by field, and kept on the customer', async () => {
    const bad = await t.admin.request(CreateBillingCustomerDocument, {
      input: {
        externalId: `bad-${seq++}`,
        name: 'Bad',
        currency: 'USD',
        paymentTermsDays: 400,
        billingDetails: { legalName: ' ', email: 'not-an-email', taxId: '$$$', address: { line1: '', city: 'Berlin', country: 'XX' } },
      },
    });
    expect(codesOf(bad)).toEqual(['VALIDATION_FAILED']);
    expect(fields(bad)).toEqual(['billingDetails.address.country', 'billingDetails.address.line1', 'billingDetails.email', 'billingDetails.legalName', 'billingDetails.taxId', 'paymentTermsDays']);
    const country = await t.admin.request(CreateBillingCustomerDocument, { input: { externalId: `bad-${seq++}`, name: 'Bad', currency: 'USD', billingDetails: { legalName: 'X', address: { line1: 'a', city: 'b', country: 'Germany' } } } });
    expect(fields(country)).toEqual(['billingDetails.address.country']);

    const { customer: c } = (await t.admin.ok(CreateBillingCustomerDocument, { input: { externalId: `ok-${seq++}`, name: 'Shown name', currency: 'USD', billingDetails: BILLING_DETAILS, paymentTermsDays: 30 } })).createCustomer;
    expect(c.paymentTermsDays).toBe(30);
    expect(c.billingDetails).toEqual({ ...BILLING_DETAILS, address: { ...BILLING_DETAILS.address, country: 'DE' } });
    const cleared = (await t.admin.ok(UpdateBillingCustomerDocument, { input: { id: c.id, billingDetails: null, paymentTermsDays: null } })).updateCustomer.customer;
    expect(cleared).toMatchObject({ billingDetails: null, paymentTermsDays: null });
    const again = await t.admin.request(UpdateBillingCustomerDocument, { input: { id: c.id, billingDetails: { legalName: 'Y', address: { line1: 'a', city: 'b', country: 'ZZ' } } } });
    expect(fields(again)).toEqual(['billingDetails.address.country']);
  });
});

describe('a finalized invoice', () => {
  it('carries the seller, the buyer, its terms and a due date counted in calendar days of the customer', async () => {
    const c = await customer({ billingDetails: BILLING_DETAILS, paymentTermsDays: 30 });
    const inv = await finalized(t, c);
    expect(inv.status).toBe('FINALIZED');
    expect(inv.seller).toEqual({ name: 'Acme Metering GmbH', address: ['Hauptstraße 1', '10115 Berlin', 'Germany'], taxId: 'DE123456789', email: 'billing@acme.example' });
    expect(inv.buyer).toMatchObject({ legalName: 'Müller Analytics GmbH', taxId: 'DE987654321', email: 'ap@mueller.example', timeZone: 'Europe/Berlin' });
    expect(inv.buyer!.address).toEqual({ ...BILLING_DETAILS.address, country: 'DE' });
    expect(inv.paymentTermsDays).toBe(30);
    // 01:00 in Berlin on March 2 plus 30 days is 01:00 on April 1, summer time by then (UTC+2).
    expect(inv.finalizedAt).toBe(FINALIZE_AT);
    expect(inv.dueAt).toBe('2026-03-31T23:00:00.000Z');

    const page = await (await get(`/invoices/${inv.id}.html`, t.adminKey)).text();
    for (const text of ['Acme Metering GmbH', 'DE123456789', 'Müller Analytics GmbH', 'Friedrichstraße 200', '10117 Berlin', 'Germany', 'DE987654321', inv.number!, '2026-04-01', '30 days', '49.50']) {
      expect(page).toContain(text);
    }
  });

  it('uses the default terms without the customer own, and its name without billing details', async () => {
    const c = await customer();
    const inv = await finalized(t, c);
    expect(inv.paymentTermsDays).toBe(14);
    expect(inv.dueAt).toBe('2026-03-16T00:00:00.000Z');
    expect(inv.buyer).toMatchObject({ legalName: expect.stringMatching(/^Display doc-/), address: null, taxId: null });
  });

  it('keeps them when the configuration and the customer change afterwards', async () => {
    const c = await customer({ billingDetails: BILLING_DETAILS, paymentTermsDays: 30 });
    const inv = await finalized(t, c);
    await t.admin.ok(UpdateBillingCustomerDocument, { input: { id: c, billingDetails: { ...BILLING_DETAILS, legalName: 'Renamed AG', taxId: 'DE000000000' }, paymentTermsDays: 7 } });
    // Another instance of the deployment, configured with another seller.
    const other = await startTestApp({ db: t.db, clock, env: { RULES_WATCH: 'false', INVOICE_CLOSE_INTERVAL_MS: '0', SELLER_NAME: 'Other Seller Ltd', SELLER_TAX_ID: 'GB111' } });
    try {
      const again = (await other.admin.ok(InvoiceDocumentDocument, { id: inv.id })).invoice;
      expect(again).toEqual(inv);
      const page = await (await fetch(other.url.replace('/graphql', `/invoices/${inv.id}.html`), { headers: { authorization: `Bearer ${other.adminKey}` } })).text();
      expect(page).toContain('Acme Metering GmbH');
      expect(page).toContain('Müller Analytics GmbH');
      expect(page).not.toContain('Other Seller Ltd');
      expect(page).not.toContain('Renamed AG');
      // The next invoice, finalized there, is issued by that instance's seller to the renamed customer.
      const march = await finalized(other, c, '2026-04-02T00:00:00.000Z');
      expect(march.seller).toEqual({ name: 'Other Seller Ltd', address: [], taxId: 'GB111', email: null });
      expect(march.buyer).toMatchObject({ legalName: 'Renamed AG', taxId: 'DE000000000' });
      expect(march.paymentTermsDays).toBe(7);
    } finally {
      await other.close();
    }
    // The database itself keeps them: a finalized invoice's parties and due date are its figures.
    const db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
    try {
      for (const set of [`buyer = '{"legalName": "Renamed AG"}'`, `seller = null`, `due_at = due_at + interval '1 day'`, `payment_terms_days = 7`]) {
        await expect(db.query(`update invoice set ${set} where id = $1`, [inv.id]), set).rejects.toThrow(/immutable/);
      }
    } finally {
      await db.end();
    }
  });
});

describe('the PDF', () => {
  it('is application/pdf with the number, the legal name, the dates and the total, authorised like the page', async () => {
    const c = await customer({ billingDetails: BILLING_DETAILS, paymentTermsDays: 30 });
    const inv = await finalized(t, c);
    const res = await get(`/invoices/${inv.id}.pdf`, t.adminKey);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(`inline; filename="${inv.number}.pdf"`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(0, 5).toString()).toBe('%PDF-');
    const lines = pdfTextLines(body);
    expect(lines).toContain(`Invoice ${inv.number}`);
    expect(lines).toContain('Müller Analytics GmbH');
    expect(lines).toContain('Acme Metering GmbH');
    expect(lines).toContain('Tax id: DE987654321');
    expect(lines).toContain('2026-04-01');
    expect(lines).toContain('Total');
    expect(lines).toContain('49.50');
    expect(lines).toContain('49.50 USD');

    const other = await customer();
    const strangerKey = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'other', role: 'CUSTOMER', customerId: other } })).createApiKey.secret;
    const ownKey = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'own', role: 'CUSTOMER', customerId: c } })).createApiKey.secret;
    const ingestKey = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'ingest', role: 'INGEST' } })).createApiKey.secret;
    expect((await get(`/invoices/${inv.id}.pdf`, ownKey)).status).toBe(200);
    expect((await get(`/invoices/${inv.id}.pdf`)).status).toBe(401);
    expect((await get(`/invoices/${inv.id}.pdf`, strangerKey)).status).toBe(404);
    expect((await get(`/invoices/${inv.id}.pdf`, ingestKey)).status).toBe(403);
    expect((await get(`/invoices/${inv.id}.html`, ingestKey)).status).toBe(403);
  });
});

describe('signed links', () => {
  it('open the page and the PDF without Authorization, until they expire', async () => {
    const c = await customer({ billingDetails: BILLING_DETAILS });
    const inv = await finalized(t, c);
    const token = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId: c } })).createCustomerToken.token;
    const link = (await t.client(token).ok(InvoiceLinkDocument, { invoiceId: inv.id, expiresInSeconds: 3600 })).invoiceLink;
    expect(link.expiresAt).toBe('2026-03-02T01:00:00.000Z');
    expect(link.html).toMatch(new RegExp(`^/invoices/${inv.id}\\.html\\?expires=\\d+&signature=[A-Za-z0-9_-]{43}$`));

    const page = await get(link.html);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('private, no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await page.text()).toContain(inv.number!);
    const pdf = await get(link.pdf);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdfTextLines(Buffer.from(await pdf.arrayBuffer()))).toContain(`Invoice ${inv.number}`);

    clock.set('2026-03-02T00:59:59.000Z');
    expect((await get(link.html)).status).toBe(200);
    clock.set('2026-03-02T01:00:00.000Z');
    const expired = await get(link.pdf);
    expect(expired.status).toBe(403);
    expect(expired.headers.get('content-type')).toContain('text/html');
    const refusal = await expired.text();
    expect(refusal).toContain('This link is not valid');

    // A week by default, at most 30 days.
    const week = (await t.admin.ok(InvoiceLinkDocument, { invoiceId: inv.id })).invoiceLink;
    expect(week.expiresAt).toBe('2026-03-09T01:00:00.000Z');
    const tooLong = await t.admin.request(InvoiceLinkDocument, { invoiceId: inv.id, expiresInSeconds: 30 * 86_400 + 1 });
    expect(fields(tooLong)).toEqual(['expiresInSeconds']);
    // An expired link and a forged one are refused alike.
    clock.set('2026-03-02T00:30:00.000Z');
    const forged = await get(link.html.replace(/signature=./, (s) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A')));
    expect(forged.status).toBe(403);
    expect(await forged.text()).toBe(refusal);
  });

  it('open that invoice in that format only, and are given to its own customer only', async () => {
    const c = await customer();
    const inv = await finalized(t, c);
    const otherCustomer = await customer();
    const otherInvoice = await finalized(t, otherCustomer);
    const link = (await t.admin.ok(InvoiceLinkDocument, { invoiceId: inv.id, expiresInSeconds: 600 })).invoiceLink;
    const query = link.html.slice(link.html.indexOf('?'));
    expect((await get(`/invoices/${inv.id}.html${query}`)).status).toBe(200);
    expect((await get(`/invoices/${otherInvoice.id}.html${query}`)).status).toBe(403);
    expect((await get(`/invoices/${inv.id}.pdf${query}`)).status).toBe(403);
    const later = query.replace(/expires=(\d+)/, (_, n: string) => `expires=${Number(n) + 86_400}`);
    expect((await get(`/invoices/${inv.id}.html${later}`)).status).toBe(403);
    expect((await get(`/invoices/${inv.id}.html?expires=9999999999`)).status).toBe(401);

    const strangerToken = (await t.admin.ok(CreateCustomerTokenDocument, { input: { customerId: otherCustomer } })).createCustomerToken.token;
    expect(codesOf(await t.client(strangerToken).request(InvoiceLinkDocument, { invoiceId: inv.id }))).toEqual(['NOT_FOUND']);
    expect(codesOf(await t.client().request(InvoiceLinkDocument, { invoiceId: inv.id }))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('a corrected invoice', () => {
  it('names the invoice it replaces, and the voided one names its replacement', async () => {
    const c = await customer({ billingDetails: BILLING_DETAILS });
    const inv = await finalized(t, c);
    const { voided, corrected } = (await t.admin.ok(VoidAndReissueInvoiceDocument, { input: { invoiceId: inv.id, reason: 'wrong address', reissue: true } })).voidInvoice;
    expect(corrected).toMatchObject({ status: 'FINALIZED', correctsInvoiceId: inv.id, correctedByInvoiceId: null, total: inv.total });
    expect(voided).toMatchObject({ status: 'VOID', correctedByInvoiceId: corrected!.id, number: inv.number });
    const listed = (await t.admin.ok(InvoiceDocumentsDocument, { customerId: c })).invoices.nodes;
    expect(listed.find((i) => i.id === inv.id)!.correctedByInvoiceId).toBe(corrected!.id);

    const correctedPage = await (await get(`/invoices/${corrected!.id}.html`, t.adminKey)).text();
    expect(correctedPage).toMatch(new RegExp(`<dt>Replaces invoice</dt><dd>${inv.number}</dd>`));
    const voidedPage = await (await get(`/invoices/${inv.id}.html`, t.adminKey)).text();
    expect(voidedPage).toContain('VOID: wrong address');
    expect(voidedPage).toMatch(new RegExp(`<dt>Replaced by invoice</dt><dd>${corrected!.number}</dd>`));
    const pdf = pdfTextLines(Buffer.from(await (await get(`/invoices/${corrected!.id}.pdf`, t.adminKey)).arrayBuffer()));
    expect(pdf).toContain('Replaces invoice');
    expect(pdf).toContain(inv.number);
  });
});
