import type { InvoiceDocument } from './invoice-document.pure.js';

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const lines = (texts: string[]): string => texts.map(escape).join('<br>');

/** A printable, self-contained HTML page of an invoice (no scripts, inline styles only). */
export function renderInvoiceHtml(doc: InvoiceDocument): string {
  const rows = doc.lines
    .map((l) => {
      const details = l.details.length ? `<ul class="tiers">${l.details.map((d) => `<li>${escape(d)}</li>`).join('')}</ul>` : '';
      const period = l.period ? ` <small>(${escape(l.period)})</small>` : '';
      return `<tr><td>${escape(l.description)}${period}${details}</td><td class="n">${escape(l.quantity)}</td><td class="n">${escape(l.unitPrice)}</td><td class="n">${escape(l.amount)}</td></tr>`;
    })
    .join('\n');
  const totals = doc.totals.map((t) => `<tr${t.strong ? ' class="strong"' : ''}><td colspan="3">${escape(t.label)}</td><td class="n">${escape(t.amount)}</td></tr>`).join('\n');
  const facts = doc.facts.map(([label, value]) => `<div><dt>${escape(label)}</dt><dd>${escape(value)}</dd></div>`).join('');
  const seller = doc.seller.length ? `<section><h2>From</h2><p>${lines(doc.seller)}</p></section>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(doc.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;color:#111;max-width:52rem;margin:2rem auto;padding:0 1rem}
h2{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#555;margin:0 0 .2rem}
.parties{display:flex;flex-wrap:wrap;gap:1rem 3rem;margin:1rem 0}.parties p{margin:0}
dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem 1rem;margin:1rem 0}dt{font-size:12px;color:#555}dd{margin:0}
table{width:100%;border-collapse:collapse}th,td{padding:.4rem;border-bottom:1px solid #ccc;vertical-align:top;text-align:left}
.n{text-align:right;white-space:nowrap}.tiers{margin:.2rem 0 0 1rem;padding:0;color:#444;font-size:12px}
.void{color:#a00;font-weight:bold}tfoot td{border:0}tfoot .strong td{font-weight:bold}
@media print{body{margin:0}}
</style></head>
<body><main>
<h1>${escape(doc.title)}</h1>
<p${doc.voided ? ' class="void"' : ''}>${escape(doc.status)}</p>
<div class="parties">${seller}<section><h2>Bill to</h2><p>${lines(doc.buyer)}</p></section></div>
<dl>${facts}</dl>
<table><thead><tr><th scope="col">Description</th><th scope="col" class="n">Quantity</th><th scope="col" class="n">Unit price</th><th scope="col" class="n">Amount</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot>
${totals}
</tfoot></table>
<p><small>${doc.notes.map(escape).join('<br>')}</small></p>
</main></body></html>`;
}
