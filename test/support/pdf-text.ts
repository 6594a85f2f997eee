import { inflateSync } from 'node:zlib';

/** Windows-1252 bytes 0x80-0x9F (the rest of the encoding matches Latin-1). */
const CP1252: Record<number, string> = {
  0x80: '€', 0x82: '‚', 0x83: 'ƒ', 0x84: '„', 0x85: '…', 0x86: '†', 0x87: '‡', 0x88: 'ˆ', 0x89: '‰', 0x8a: 'Š', 0x8b: '‹', 0x8c: 'Œ', 0x8e: 'Ž',
  0x91: '‘', 0x92: '’', 0x93: '“', 0x94: '”', 0x95: '•', 0x96: '–', 0x97: '—', 0x98: '˜', 0x99: '™', 0x9a: 'š', 0x9b: '›', 0x9c: 'œ', 0x9e: 'ž', 0x9f: 'Ÿ',
};
const decode = (bytes: number[]): string => bytes.map((b) => CP1252[b] ?? String.fromCharCode(b)).join('');

/** The bytes of a PDF string operand: <hex> or (literal) with its escapes. */
function stringBytes(token: string): number[] {
  if (token.startsWith('<')) {
    const hex = token.slice(1, -1).replace(/\s+/g, '');
    return Array.from({ length: Math.ceil(hex.length / 2) }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2).padEnd(2, '0'), 16));
  }
  const body = token.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out.push(c.charCodeAt(0));
      continue;
    }
    const n = body[++i]!;
    const octal = /^[0-7]{1,3}/.exec(body.slice(i))?.[0];
    if (octal) {
      out.push(parseInt(octal, 8));
      i += octal.length - 1;
    } else out.push(({ n: 10, r: 13, t: 9, b: 8, f: 12 } as Record<string, number>)[n] ?? n.charCodeAt(0));
  }
  return out;
}

/**
 * The text a PDF shows, one entry per text object (BT … ET), in drawing order: enough to read
 * back what PDFKit draws with the standard fonts (Windows-1252 strings shown with Tj and TJ).
 * Streams are inflated when FlateDecode; nothing else of the format is needed here.
 */
export function pdfTextLines(pdf: Buffer): string[] {
  const latin = pdf.toString('latin1');
  const lines: string[] = [];
  for (const m of latin.matchAll(/<<((?:(?!>>)[\s\S])*?)>>\s*stream\r?\n/g)) {
    const dict = m[1]!;
    const length = Number(/\/Length (\d+)/.exec(dict)?.[1]);
    if (!Number.isFinite(length)) continue;
    const start = m.index! + m[0].length;
    const raw = pdf.subarray(start, start + length);
    const content = (/\/FlateDecode/.test(dict) ? inflateSync(raw) : raw).toString('latin1');
    for (const block of content.matchAll(/\bBT\b([\s\S]*?)\bET\b/g)) {
      const shown: string[] = [];
      for (const op of block[1]!.matchAll(/\[((?:<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\)])*\)|[^\]])*)\]\s*TJ|(<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\)])*\))\s*Tj/g)) {
        const operands = op[1] !== undefined ? [...op[1].matchAll(/<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\)])*\)/g)].map((s) => s[0]) : [op[2]!];
        shown.push(operands.map((s) => decode(stringBytes(s))).join(''));
      }
      if (shown.length) lines.push(shown.join(''));
    }
  }
  return lines;
}
