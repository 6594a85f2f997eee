import { Decimal } from '../../shared/money/decimal.js';
import { fromLocal, toLocal, utcMillis } from '../../shared/time-zones.js';
import type { BillingDetails } from '../customers/billing-details.pure.js';
import { amountRemaining, atInvoiceScale } from './invoice-amounts.pure.js';
import type { BuyerSnapshot, InvoiceRecord, SellerSnapshot } from './invoice.record.js';

/**
 * When an invoice finalized at `at` falls due: `days` calendar days later in the customer's time
 * zone, at the same wall-clock time (so a change to or from summer time does not move it by an
 * hour, and 0 days is the instant itself).
 */
export function dueDate(at: Date, days: number, timeZone: string): Date {
  const l = toLocal(at, timeZone);
  const day = new Date(utcMillis(l.year, l.month, l.day + days));
  const due = fromLocal(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), timeZone, l.hour, l.minute, l.second);
  return new Date(due.getTime() + at.getUTCMilliseconds());
}

/** The customer as an invoice addresses it: its billing details, or else its name and email. */
export function buyerSnapshot(c: { name: string; email: string | null; externalId: string; timezone: string; billingDetails: BillingDetails | null }): BuyerSnapshot {
  const b = c.billingDetails;
  return { legalName: b?.legalName ?? c.name, email: b ? b.email : c.email, address: b?.address ?? null, taxId: b?.taxId ?? null, externalId: c.externalId, timeZone: c.timezone };
}

/** One line of the document's table: texts only, money as the invoice stores it. */
export interface DocumentLine {
  description: string;
  /** The period the line bills when it is not the invoice's own. */
  period: string | null;
  /** Tier and adjustment breakdown, one text each. */
  details: string[];
  quantity: string;
  unitPrice: string;
  amount: string;
}

/**
 * An invoice as a document: every text that the HTML page and the PDF print, in order. Both
 * renderers draw this and nothing else, so they cannot disagree; amounts are the invoice's own
 * decimal strings, never recomputed.
 */
export interface InvoiceDocument {
  title: string;
  /** "Status: FINALIZED", or the void notice. */
  status: string;
  voided: boolean;
  /** Seller lines (name first); empty when no seller was configured. */
  seller: string[];
  /** Buyer lines (legal name first). */
  buyer: string[];
  /** Label and value pairs: number, dates, terms, period, currency, corrections. */
  facts: Array<[string, string]>;
  lines: DocumentLine[];
  totals: Array<{ label: string; amount: string; strong: boolean }>;
  notes: string[];
}

/** The parties an invoice shows: its own snapshots once finalized, else the current ones. */
export interface DocumentParties {
  seller: SellerSnapshot | null;
  buyer: BuyerSnapshot;
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region' });

/** A date in a time zone, as YYYY-MM-DD. */
export function localDay(at: Date, timeZone: string): string {
  const l = toLocal(at, timeZone);
  return `${String(l.year).padStart(4, '0')}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')}`;
}

function sellerLines(s: SellerSnapshot | null): string[] {
  if (!s) return [];
  return [s.name, ...s.address, ...(s.taxId ? [`Tax id: ${s.taxId}`] : []), ...(s.email ? [s.email] : [])];
}

function buyerLines(b: BuyerSnapshot): string[] {
  const a = b.address;
  const address = a
    ? [a.line1, ...(a.line2 ? [a.line2] : []), [a.postalCode, a.city].filter(Boolean).join(' '), ...(a.region ? [a.region] : []), regionNames.of(a.country) ?? a.country]
    : [];
  return [b.legalName, ...address, ...(b.taxId ? [`Tax id: ${b.taxId}`] : []), ...(b.email ? [b.email] : []), `Account ${b.externalId}`];
}

function lineOf(invoice: InvoiceRecord, l: InvoiceRecord['lines'][number], day: (d: Date) => string): DocumentLine {
  const details = [
    ...l.tiers.map((t) => `tier ${t.tier}: ${t.quantity} × ${t.unitPrice}${t.flatFee !== '0' ? ` + ${t.flatFee}` : ''} = ${t.amount}`),
    ...(l.adjustments ?? []).map((a) => `${a.kind} ${a.description ?? a.id} (${a.kind === 'multiplier' ? `× ${a.rate}` : `${a.rate}%`}): ${a.amount}`),
  ];
  // One tier with no flat fee is a plain unit price; several tiers show theirs in the details.
  const single = l.tiers.length === 1 && l.tiers[0]!.flatFee === '0' ? l.tiers[0]!.unitPrice : '';
  const own = l.periodStart.getTime() === invoice.periodStart.getTime();
  return {
    description: l.description,
    period: own ? null : `period ${day(l.periodStart)} to ${day(l.periodEnd)}`,
    details,
    quantity: l.quantity ?? '',
    unitPrice: single,
    amount: l.amount,
  };
}

/** The document of an invoice; dates in the buyer's time zone. */
export function invoiceDocument(invoice: InvoiceRecord, parties: DocumentParties): InvoiceDocument {
  const day = (d: Date) => localDay(d, parties.buyer.timeZone);
  const facts: Array<[string, string]> = [];
  if (invoice.number) facts.push(['Invoice number', invoice.number]);
  if (invoice.finalizedAt) facts.push(['Issued', day(invoice.finalizedAt)]);
  if (invoice.dueAt) facts.push(['Due', day(invoice.dueAt)]);
  if (invoice.paymentTermsDays !== null) facts.push(['Payment terms', invoice.paymentTermsDays === 0 ? 'due on receipt' : `${invoice.paymentTermsDays} days`]);
  facts.push(['Billing period', `${day(invoice.periodStart)} to ${day(invoice.periodEnd)}`], ['Currency', invoice.currency]);
  if (invoice.correctsInvoiceId) facts.push(['Replaces invoice', invoice.corrects?.number ?? invoice.correctsInvoiceId]);
  if (invoice.correctedBy) facts.push(['Replaced by invoice', invoice.correctedBy.number ?? invoice.correctedBy.id]);
  const tax = invoice.taxRate ? `${invoice.taxRate.name} ${invoice.taxRate.percent}%${invoice.taxRate.inclusive ? ' (included)' : ''}` : 'Tax';
  return {
    title: invoice.number ? `Invoice ${invoice.number}` : 'Draft invoice',
    status: invoice.status === 'VOID' ? `VOID: ${invoice.voidReason ?? ''}` : `Status: ${invoice.status}`,
    voided: invoice.status === 'VOID',
    seller: sellerLines(parties.seller),
    buyer: buyerLines(parties.buyer),
    facts,
    lines: invoice.lines.map((l) => lineOf(invoice, l, day)),
    totals: [
      { label: 'Subtotal', amount: invoice.subtotal, strong: false },
      { label: tax, amount: invoice.tax, strong: false },
      { label: 'Total', amount: invoice.total, strong: true },
      { label: 'Already paid (wallet and credits)', amount: invoice.prepaid, strong: false },
      ...(new Decimal(invoice.amountPaid).isZero() ? [] : [{ label: 'Amount paid', amount: atInvoiceScale(invoice, invoice.amountPaid), strong: false }]),
      { label: 'Amount due', amount: `${amountRemaining(invoice)} ${invoice.currency}`, strong: true },
    ],
    notes: [
      `Amounts rounded once per line (${invoice.rounding}); base fees prorated by ${invoice.proration.toLowerCase()}.`,
      `Priced by ${invoice.ruleSets.map((r) => `${r.key} v${r.version}`).join(', ') || 'no rule sets'}.`,
    ],
  };
}
