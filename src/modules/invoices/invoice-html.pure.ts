import type { InvoiceRecord } from './invoice.record.js';

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const day = (d: Date): string => d.toISOString().slice(0, 10);

/** A printable, self-contained HTML page of an invoice (no scripts, inline styles only). */
export function renderInvoiceHtml(invoice: InvoiceRecord, customer: { name: string; externalId: string }): string {
  const title = invoice.number ? `Invoice ${invoice.number}` : `Draft invoice`;
  const rows = invoice.lines
    .map((l) => {
      const parts = [
        ...l.tiers.map((t) => `<li>tier ${t.tier}: ${escape(t.quantity)} × ${escape(t.unitPrice)}${t.flatFee !== '0' ? ` + ${escape(t.flatFee)}` : ''} = ${escape(t.amount)}</li>`),
        ...(l.adjustments ?? []).map((a) => `<li>${escape(a.kind)} ${escape(a.description ?? a.id)} (${a.kind === 'multiplier' ? `× ${escape(a.rate)}` : `${escape(a.rate)}%`}): ${escape(a.amount)}</li>`),
      ];
      const tiers = parts.length ? `<ul class="tiers">${parts.join('')}</ul>` : '';
      const other = l.periodStart.getTime() !== invoice.periodStart.getTime() ? ` <small>(period ${day(l.periodStart)} to ${day(l.periodEnd)})</small>` : '';
      return `<tr><td>${escape(l.description)}${other}${tiers}</td><td class="n">${l.quantity === null ? '' : escape(l.quantity)}</td><td class="n">${escape(l.amount)}</td></tr>`;
    })
    .join('\n');
  const tax = invoice.taxRate ? `${escape(invoice.taxRate.name)} ${escape(invoice.taxRate.percent)}%${invoice.taxRate.inclusive ? ' (included)' : ''}` : 'Tax';
  const status = invoice.status === 'VOID' ? `<p class="void">VOID: ${escape(invoice.voidReason ?? '')}</p>` : `<p>Status: ${invoice.status}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;color:#111;max-width:52rem;margin:2rem auto;padding:0 1rem}
table{width:100%;border-collapse:collapse}th,td{padding:.4rem;border-bottom:1px solid #ccc;vertical-align:top;text-align:left}
.n{text-align:right;white-space:nowrap}.tiers{margin:.2rem 0 0 1rem;padding:0;color:#444;font-size:12px}
.void{color:#a00;font-weight:bold}tfoot td{font-weight:bold;border:0}
@media print{body{margin:0}}
</style></head>
<body><main>
<h1>${escape(title)}</h1>
${status}
<p>${escape(customer.name)} (${escape(customer.externalId)})<br>
Billing period ${day(invoice.periodStart)} to ${day(invoice.periodEnd)} · ${escape(invoice.currency)}${invoice.finalizedAt ? ` · issued ${day(invoice.finalizedAt)}` : ''}</p>
<table><thead><tr><th scope="col">Description</th><th scope="col" class="n">Quantity</th><th scope="col" class="n">Amount</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot>
<tr><td colspan="2">Subtotal</td><td class="n">${escape(invoice.subtotal)}</td></tr>
<tr><td colspan="2">${tax}</td><td class="n">${escape(invoice.tax)}</td></tr>
<tr><td colspan="2">Total</td><td class="n">${escape(invoice.total)}</td></tr>
<tr><td colspan="2">Already paid (wallet and credits)</td><td class="n">${escape(invoice.prepaid)}</td></tr>
<tr><td colspan="2">Amount due</td><td class="n">${escape(invoice.amountDue)} ${escape(invoice.currency)}</td></tr>
</tfoot></table>
<p><small>Amounts rounded once per line (${escape(invoice.rounding)}); base fees prorated by ${escape(invoice.proration.toLowerCase())}.
Priced by ${invoice.ruleSets.map((r) => `${escape(r.key)} v${r.version}`).join(', ') || 'no rule sets'}.</small></p>
</main></body></html>`;
}
