import PDFDocument from 'pdfkit';
import type { InvoiceDocument } from './invoice-document.pure.js';

/** A4 in points, with 50-point margins. */
const PAGE = { width: 595.28, height: 841.89, margin: 50 };
const RIGHT = PAGE.width - PAGE.margin;
/** Table columns: x and width; numbers are right-aligned in theirs. */
const COL = { description: [50, 240], quantity: [290, 75], unitPrice: [365, 75], amount: [440, 105] } as const;
const GREY = '#555555';
/** Where the labels of the totals start. */
const TOTALS_LABEL = 230;

/**
 * The standard PDF fonts (Helvetica) encode text in Windows-1252: a character outside it would
 * print as an unrelated glyph, so it prints as "?" instead. The HTML page shows every character.
 */
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
const printable = (s: string): string => Array.from(s, (c) => (c >= ' ' && c <= '~') || (c >= '\u00a0' && c <= '\u00ff') || WIN_ANSI_EXTRA.has(c) ? c : '?').join('');

type Doc = InstanceType<typeof PDFDocument>;

/**
 * The invoice document as a PDF (A4), drawn with PDFKit from the same document the HTML page
 * prints. `createdAt` stamps the file, so that the same invoice gives the same bytes.
 */
export function renderInvoicePdf(doc: InvoiceDocument, createdAt: Date): Promise<Buffer> {
  const pdf = new PDFDocument({ size: 'A4', margin: PAGE.margin, info: { Title: printable(doc.title), Creator: 'billing', CreationDate: createdAt, ModDate: createdAt } });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('data', (c: Buffer) => chunks.push(c));
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  header(pdf, doc);
  table(pdf, doc);
  pdf.end();
  return done;
}

function text(pdf: Doc, s: string, x: number, y: number, opts: { width: number; size: number; bold?: boolean; align?: 'left' | 'right'; color?: string }): number {
  pdf.font(opts.bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(opts.size).fillColor(opts.color ?? '#111111');
  const value = printable(s);
  pdf.text(value, x, y, { width: opts.width, align: opts.align ?? 'left' });
  return pdf.heightOfString(value, { width: opts.width });
}

/** Title, status, the two parties and the facts; leaves pdf.y below them. */
function header(pdf: Doc, doc: InvoiceDocument): void {
  let y = PAGE.margin;
  y += text(pdf, doc.title, PAGE.margin, y, { width: RIGHT - PAGE.margin, size: 20, bold: true }) + 2;
  y += text(pdf, doc.status, PAGE.margin, y, { width: RIGHT - PAGE.margin, size: 10, bold: doc.voided, color: doc.voided ? '#aa0000' : GREY }) + 14;
  const parties: Array<[string, string[]]> = [...(doc.seller.length ? [['FROM', doc.seller] as [string, string[]]] : []), ['BILL TO', doc.buyer]];
  let bottom = y;
  parties.forEach(([label, lines], i) => {
    const x = PAGE.margin + i * 265;
    let py = y + text(pdf, label, x, y, { width: 230, size: 8, color: GREY }) + 2;
    for (const line of lines) py += text(pdf, line, x, py, { width: 230, size: 10, bold: line === lines[0] });
    bottom = Math.max(bottom, py);
  });
  y = bottom + 16;
  // Facts in three columns: label above value.
  for (let i = 0; i < doc.facts.length; i += 3) {
    let rowBottom = y;
    doc.facts.slice(i, i + 3).forEach(([label, value], j) => {
      const x = PAGE.margin + j * 165;
      const h = text(pdf, label, x, y, { width: 155, size: 8, color: GREY });
      rowBottom = Math.max(rowBottom, y + h + text(pdf, value, x, y + h, { width: 155, size: 10 }));
    });
    y = rowBottom + 8;
  }
  pdf.y = y + 8;
}

function tableHead(pdf: Doc, y: number): number {
  const heads: Array<[string, readonly [number, number], 'left' | 'right']> = [
    ['Description', COL.description, 'left'],
    ['Quantity', COL.quantity, 'right'],
    ['Unit price', COL.unitPrice, 'right'],
    ['Amount', COL.amount, 'right'],
  ];
  for (const [label, [x, width], align] of heads) text(pdf, label, x, y, { width, size: 9, bold: true, align });
  rule(pdf, y + 14);
  return y + 20;
}

function rule(pdf: Doc, y: number): void {
  pdf.moveTo(PAGE.margin, y).lineTo(RIGHT, y).lineWidth(0.5).strokeColor('#cccccc').stroke();
}

/** A new page, headed with the invoice's title, when `height` does not fit below y; returns where to draw. */
function room(pdf: Doc, doc: InvoiceDocument, y: number, height: number, head: boolean): number {
  if (y + height <= PAGE.height - PAGE.margin) return y;
  pdf.addPage();
  const top = PAGE.margin + text(pdf, `${doc.title} (continued)`, PAGE.margin, PAGE.margin, { width: RIGHT - PAGE.margin, size: 9, color: GREY }) + 10;
  return head ? tableHead(pdf, top) : top;
}

function table(pdf: Doc, doc: InvoiceDocument): void {
  let y = tableHead(pdf, pdf.y);
  for (const l of doc.lines) {
    const description = l.period ? `${l.description} (${l.period})` : l.description;
    pdf.font('Helvetica').fontSize(9);
    let height = pdf.heightOfString(printable(description), { width: COL.description[1] });
    pdf.fontSize(7.5);
    for (const d of l.details) height += pdf.heightOfString(printable(d), { width: COL.description[1] - 8 });
    y = room(pdf, doc, y, height + 8, true);
    let dy = y + text(pdf, description, COL.description[0], y, { width: COL.description[1], size: 9 });
    for (const d of l.details) dy += text(pdf, d, COL.description[0] + 8, dy, { width: COL.description[1] - 8, size: 7.5, color: GREY });
    text(pdf, l.quantity, COL.quantity[0], y, { width: COL.quantity[1], size: 9, align: 'right' });
    text(pdf, l.unitPrice, COL.unitPrice[0], y, { width: COL.unitPrice[1], size: 9, align: 'right' });
    text(pdf, l.amount, COL.amount[0], y, { width: COL.amount[1], size: 9, align: 'right' });
    y = Math.max(dy, y + 12) + 4;
    rule(pdf, y - 2);
  }
  y += 6;
  for (const t of doc.totals) {
    y = room(pdf, doc, y, 16, false);
    text(pdf, t.label, TOTALS_LABEL, y, { width: COL.amount[0] - TOTALS_LABEL, size: 10, bold: t.strong });
    y += text(pdf, t.amount, COL.amount[0], y, { width: COL.amount[1], size: 10, bold: t.strong, align: 'right' }) + 4;
  }
  y += 12;
  for (const note of doc.notes) {
    y = room(pdf, doc, y, 12, false);
    y += text(pdf, note, PAGE.margin, y, { width: RIGHT - PAGE.margin, size: 7.5, color: GREY });
  }
}
