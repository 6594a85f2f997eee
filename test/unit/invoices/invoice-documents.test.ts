import { describe, expect, it } from 'vitest';
import { Checker } from '../../../src/shared/validation.js';
import { checkBillingDetails } from '../../../src/modules/customers/billing-details.pure.js';
import { buyerSnapshot, dueDate, invoiceDocument } from '../../../src/modules/invoices/invoice-document.pure.js';
import { linkSignature, linkValid } from '../../../src/modules/invoices/invoice-link.pure.js';
import { renderInvoicePdf } from '../../../src/modules/invoices/invoice-pdf.service.js';
import type { InvoiceLineRecord, InvoiceRecord } from '../../../src/modules/invoices/invoice.record.js';
import { pdfTextLines } from '../../support/pdf-text.js';

describe('dueDate', () => {
  it('counts calendar days in the time zone, keeping the wall-clock time across a change of offset', () => {
    // 01:00 in Berlin on March 2, 2026 (UTC+1); April 1 is in summer time (UTC+2).
    expect(dueDate(new Date('2026-03-02T00:00:00.000Z'), 30, 'Europe/Berlin').toISOString()).toBe('2026-03-31T23:00:00.000Z');
    expect(dueDate(new Date('2026-03-02T00:00:00.000Z'), 30, 'UTC').toISOString()).toBe('2026-04-01T00:00:00.000Z');
    // Across the end of a month and a leap day, in a zone west of UTC.
    expect(dueDate(new Date('2028-02-15T18:30:00.250Z'), 14, 'America/New_York').toISOString()).toBe('2028-02-29T18:30:00.250Z');
    expect(dueDate(new Date('2026-05-05T10:00:00.123Z'), 0, 'Asia/Tokyo').toISOString()).toBe('2026-05-05T10:00:00.123Z');
  });
});

describe('checkBillingDetails', () => {
  it('reports each problem at its path and normalises the country', () => {
    const check = new Checker();
    checkBillingDetails(check, 'billingDetails', { legalName: 'A', address: { line1: 'x', city: 'y', country: 'fr ' } });
    expect(check.ok).toBe(true);
    const ok = new Checker();
    expect(checkBillingDetails(ok, 'b', { legalName: ' A ', taxId: 'FR 12/3-4.5', address: { line1: 'x', city: 'y', country: 'fr' } })).toEqual({
      legalName: 'A',
      email: null,
      taxId: 'FR 12/3-4.5',
      address: { line1: 'x', line2: null, city: 'y', postalCode: null, region: null, country: 'FR' },
    });
    const bad = new Checker();
    checkBillingDetails(bad, 'b', { legalName: null, address: { line1: 'x', city: null, country: 'UK' } });
    expect(() => bad.done()).toThrow(/b\.legalName: is required; b\.address\.city: is required; b\.address\.country: "UK" is not an ISO 3166-1 alpha-2 country code/);
  });
});

describe('signed links', () => {
  const now = new Date('2026-03-02T00:00:00Z');
  const expires = now.getTime() / 1000 + 60;
  const id = '01970000-0000-7000-8000-000000000001';

  it('accept their own invoice, format and expiry until then, and nothing altered', () => {
    const sig = linkSignature('secret-a'.repeat(4), id, 'pdf', expires);
    const valid = (secret: string, invoice: string, format: 'html' | 'pdf', exp: string | null, s: string | null, at = now) => linkValid(secret, invoice, format, exp, s, at);
    const secret = 'secret-a'.repeat(4);
    expect(valid(secret, id, 'pdf', String(expires), sig)).toBe(true);
    expect(valid(secret, id, 'pdf', String(expires), sig, new Date(expires * 1000))).toBe(false);
    expect(valid(secret, id, 'html', String(expires), sig)).toBe(false);
    expect(valid(secret, id.replace(/1$/, '2'), 'pdf', String(expires), sig)).toBe(false);
    expect(valid(secret, id, 'pdf', String(expires + 1), sig)).toBe(false);
    expect(valid(secret, id, 'pdf', `0${expires}`, sig)).toBe(false);
    expect(valid('secret-b'.repeat(4), id, 'pdf', String(expires), sig)).toBe(false);
    expect(valid(secret, id, 'pdf', String(expires), `${sig}A`)).toBe(false);
    expect(valid(secret, id, 'pdf', null, sig)).toBe(false);
  });
});

const line = (i: number, extra: Partial<InvoiceLineRecord> = {}): InvoiceLineRecord => ({
  id: `l${i}`,
  position: i,
  kind: 'USAGE',
  billingKey: `k${i}`,
  periodStart: new Date('2026-02-01T00:00:00Z'),
  periodEnd: new Date('2026-03-01T00:00:00Z'),
  description: `Tokens, model m-${i}`,
  meterCode: 'llm_tokens',
  dimensions: null,
  quantity: '2500000',
  preciseAmount: '12.5',
  amount: '12.50',
  taxable: true,
  tiers: [
    { tier: 1, quantity: '1000000', unitPrice: '0', flatFee: '0', amount: '0' },
    { tier: 2, quantity: '1500000', unitPrice: '0.0000083333', flatFee: '0', amount: '12.5' },
  ],
  adjustments: [],
  details: {},
  ...extra,
});

function invoice(lines: InvoiceLineRecord[]): InvoiceRecord {
  return {
    id: '01970000-0000-7000-8000-000000000001',
    customerId: 'c',
    kind: 'PERIOD',
    status: 'FINALIZED',
    currency: 'EUR',
    periodStart: new Date('2026-02-01T00:00:00Z'),
    periodEnd: new Date('2026-03-01T00:00:00Z'),
    graceEndsAt: new Date('2026-03-02T00:00:00Z'),
    number: 'INV-000042',
    taxRate: { code: 'VAT19', name: 'USt', percent: '19', inclusive: false },
    subtotal: '1234567.80',
    tax: '234567.88',
    total: '1469135.68',
    prepaid: '-0.01',
    amountDue: '1469135.67',
    amountPaid: '1000000',
    amountRefunded: '0',
    paymentStatus: 'PARTIALLY_PAID',
    paymentAttempts: 1,
    nextPaymentAttemptAt: null,
    uncollectibleAt: null,
    precise: { subtotal: '1234567.8', tax: '234567.882', total: '1469135.682', prepaid: '-0.01', amountDue: '1469135.672' },
    ruleSets: [{ key: 'book', version: 3, hash: 'h' }],
    usageSeen: {},
    rounding: 'HALF_UP',
    proration: 'DAY',
    computedAt: new Date('2026-03-02T00:00:00Z'),
    finalizedAt: new Date('2026-03-02T00:00:00Z'),
    paidAt: null,
    paymentReference: null,
    voidedAt: null,
    voidReason: null,
    correctsInvoiceId: '01970000-0000-7000-8000-000000000000',
    corrects: { id: '01970000-0000-7000-8000-000000000000', number: 'INV-000041' },
    correctedBy: null,
    seller: { name: 'Acme SAS', address: ['1 rue de la Paix', '75002 Paris'], taxId: 'FR12345678901', email: null },
    buyer: buyerSnapshot({ name: 'Shown', email: 'x@example.com', externalId: 'cust-1', timezone: 'Asia/Tokyo', billingDetails: { legalName: '株式会社 Example', email: null, address: null, taxId: null } }),
    paymentTermsDays: 0,
    dueAt: new Date('2026-03-02T00:00:00Z'),
    createdAt: new Date('2026-03-02T00:00:00Z'),
    updatedAt: new Date('2026-03-02T00:00:00Z'),
    lines,
  };
}

describe('the invoice document', () => {
  it('prints the invoice figures as stored, dates in the buyer time zone, and the invoice it replaces', () => {
    const inv = invoice([line(1, { tiers: [{ tier: 1, quantity: '3', unitPrice: '0.333333', flatFee: '0', amount: '0.999999' }], amount: '1.00', quantity: '3' })]);
    const doc = invoiceDocument(inv, { seller: inv.seller, buyer: inv.buyer! });
    expect(doc.facts).toEqual([
      ['Invoice number', 'INV-000042'],
      ['Issued', '2026-03-02'],
      ['Due', '2026-03-02'],
      ['Payment terms', 'due on receipt'],
      ['Billing period', '2026-02-01 to 2026-03-01'],
      ['Currency', 'EUR'],
      ['Replaces invoice', 'INV-000041'],
    ]);
    expect(doc.buyer).toEqual(['株式会社 Example', 'Account cust-1']);
    expect(doc.seller).toEqual(['Acme SAS', '1 rue de la Paix', '75002 Paris', 'Tax id: FR12345678901']);
    expect(doc.lines[0]).toMatchObject({ quantity: '3', unitPrice: '0.333333', amount: '1.00' });
    // Amount due as the API's amountDue: the billed amount less what was received, nothing once paid.
    expect(doc.totals.map((t) => [t.label, t.amount])).toEqual([
      ['Subtotal', '1234567.80'],
      ['USt 19%', '234567.88'],
      ['Total', '1469135.68'],
      ['Already paid (wallet and credits)', '-0.01'],
      ['Amount paid', '1000000.00'],
      ['Amount due', '469135.67 EUR'],
    ]);
    const paid = invoiceDocument({ ...inv, status: 'PAID', amountPaid: '1469135.67' }, { seller: inv.seller, buyer: inv.buyer! });
    expect(paid.totals.slice(-2)).toEqual([
      { label: 'Amount paid', amount: '1469135.67', strong: false },
      { label: 'Amount due', amount: '0.00 EUR', strong: true },
    ]);
  });

  it('as a PDF: every line on as many pages as it takes, text outside Windows-1252 as "?"', async () => {
    const inv = invoice(Array.from({ length: 60 }, (_, i) => line(i + 1)));
    const pdf = await renderInvoicePdf(invoiceDocument(inv, { seller: inv.seller, buyer: inv.buyer! }), inv.finalizedAt!);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.toString('latin1').match(/\/Type \/Page\b/g)!.length).toBeGreaterThan(2);
    const text = pdfTextLines(pdf);
    for (let i = 1; i <= 60; i++) expect(text).toContain(`Tokens, model m-${i}`);
    expect(text.filter((l) => l === 'Description').length).toBeGreaterThan(2);
    expect(text).toContain('tier 2: 1500000 × 0.0000083333 = 12.5');
    expect(text).toContain('???? Example');
    expect(text).toContain('469135.67 EUR');
    expect(text).toContain('USt 19%');
    expect(text).toContain('Invoice INV-000042 (continued)');
    // The same invoice gives the same bytes.
    expect((await renderInvoicePdf(invoiceDocument(inv, { seller: inv.seller, buyer: inv.buyer! }), inv.finalizedAt!)).equals(pdf)).toBe(true);
  });
});
