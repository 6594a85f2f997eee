import { Decimal, formatDecimal, RoundingMode } from '../../shared/money/decimal.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import type { MarginGroupBy, MarginSums } from './margin.record.js';

/** One row of a margins report: amounts as decimal strings of the currency. */
export interface MarginLine {
  key: string;
  currency: string;
  events: number;
  revenue: string;
  cost: string;
  /** revenue − cost. */
  margin: string;
  /** margin / revenue × 100, rounded half-up to 2 places; null when revenue is zero. */
  marginPercent: string | null;
  /** Events whose cost is unknown (or in another currency): their revenue counts, their cost does not. */
  uncostedEvents: number;
}

export interface MarginReport {
  from: Date;
  to: Date;
  groupBy: MarginGroupBy;
  rows: MarginLine[];
  /** One row per currency, keyed "(total)". */
  totals: MarginLine[];
}

export const TOTAL_KEY = '(total)';

/**
 * Margin of sums in ledger units: exact to the unit (revenue is what the events were charged,
 * which is what the ledger's usage entries took; cost is the sum of each event's cost rounded
 * half-up once); only the percent rounds.
 */
export function marginLine(s: MarginSums): MarginLine {
  const margin = s.revenue - s.cost;
  const percent = s.revenue === 0n ? null : new Decimal(margin.toString()).times(100).dividedBy(s.revenue.toString()).toDecimalPlaces(2, RoundingMode.HALF_UP);
  return {
    key: s.key,
    currency: s.currency,
    events: Number(s.events),
    revenue: formatLedgerUnits(s.revenue),
    cost: formatLedgerUnits(s.cost),
    margin: formatLedgerUnits(margin),
    marginPercent: percent && formatDecimal(percent),
    uncostedEvents: Number(s.uncosted),
  };
}

/** The report: a row per group and currency, in key order, and a total per currency. */
export function marginReport(sums: MarginSums[], window: { from: Date; to: Date; groupBy: MarginGroupBy }): MarginReport {
  const totals = new Map<string, MarginSums>();
  for (const s of sums) {
    const t = totals.get(s.currency) ?? { key: TOTAL_KEY, currency: s.currency, events: 0n, revenue: 0n, cost: 0n, uncosted: 0n };
    totals.set(s.currency, { ...t, events: t.events + s.events, revenue: t.revenue + s.revenue, cost: t.cost + s.cost, uncosted: t.uncosted + s.uncosted });
  }
  const byKey = [...sums].sort((a, b) => (a.key === b.key ? (a.currency < b.currency ? -1 : 1) : a.key < b.key ? -1 : 1));
  return {
    ...window,
    rows: byKey.map(marginLine),
    totals: [...totals.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1)).map(marginLine),
  };
}

/** The report as a plain-text table. */
export function formatMarginReport(r: MarginReport): string {
  const out = [`margins by ${r.groupBy.toLowerCase()} of the events from ${r.from.toISOString()} to ${r.to.toISOString()}`, ''];
  const rows = [...r.rows, ...r.totals];
  const table = [
    [r.groupBy.toLowerCase(), 'currency', 'events', 'revenue', 'cost', 'margin', 'margin %', 'uncosted'],
    ...rows.map((l) => [l.key, l.currency, String(l.events), l.revenue, l.cost, l.margin, l.marginPercent === null ? '-' : `${l.marginPercent}%`, String(l.uncostedEvents)]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) out.push(row.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
  if (rows.length === 0) out.push('(no events)');
  return `${out.join('\n')}\n`;
}
