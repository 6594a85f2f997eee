import { ValidationError, type FieldProblem } from '../../shared/errors.js';
import { formatDecimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import { toLocal, utcMillis } from '../../shared/time-zones.js';
import { Granularity } from './usage-buckets.pure.js';
import type { UsageDimensionFilter } from './usage-report.repository.js';
import type { UsageReport, UsageReportCommand } from './usage-report.service.js';

/** The `groupBy` entry that groups by meter rather than by a dimension. */
export const METER_GROUP = 'meter';

/**
 * A usage export's query string as a usage report command: `customerId` (a customer token's own
 * by default), `from` and `to` (ISO 8601 instants), `bucket` (HOUR, DAY or MONTH; DAY by
 * default), `groupBy` (comma-separated: `meter` and dimension keys), `meter` (repeatable: only
 * these meters) and `filter` (repeatable `key:value`: only events whose dimension has one of the
 * values given for it). The service checks the rest (sizes, names, the range).
 */
export function parseExportQuery(params: URLSearchParams, ownCustomerId: string | null): UsageReportCommand {
  const problems: FieldProblem[] = [];
  const instant = (name: string): Date => {
    const text = params.get(name);
    const at = text && /^\d{4}-\d{2}-\d{2}T/.test(text) ? new Date(text) : null;
    if (!at || Number.isNaN(at.getTime())) problems.push({ path: name, message: 'must be an ISO 8601 date and time, e.g. 2026-11-01T00:00:00Z' });
    return at ?? new Date(0);
  };
  const customerId = params.get('customerId') ?? ownCustomerId;
  if (!customerId) problems.push({ path: 'customerId', message: 'is required with an ADMIN key' });
  const from = instant('from');
  const to = instant('to');
  const bucket = (params.get('bucket') ?? Granularity.DAY).toUpperCase();
  if (!Object.values(Granularity).includes(bucket as Granularity)) problems.push({ path: 'bucket', message: 'must be HOUR, DAY or MONTH' });
  const groups = (params.get('groupBy') ?? '').split(',').map((g) => g.trim()).filter(Boolean);
  const filters = new Map<string, string[]>();
  for (const f of params.getAll('filter')) {
    const at = f.indexOf(':');
    if (at <= 0) {
      problems.push({ path: 'filter', message: 'each filter is key:value' });
      continue;
    }
    const key = f.slice(0, at);
    filters.set(key, [...(filters.get(key) ?? []), f.slice(at + 1)]);
  }
  if (problems.length > 0) throw new ValidationError(problems);
  const meters = params.getAll('meter');
  return {
    customerId: customerId!,
    from,
    to,
    granularity: bucket as Granularity,
    groupByMeter: groups.includes(METER_GROUP),
    dimensions: groups.filter((g) => g !== METER_GROUP),
    meterCodes: meters.length > 0 ? meters : null,
    filters: [...filters].map(([key, values]): UsageDimensionFilter => ({ key, values })),
  };
}

/**
 * A text cell a spreadsheet will not run: one starting with =, +, -, @, a tab or a carriage
 * return is prefixed with an apostrophe (OWASP's advice against CSV injection). Only text from
 * callers (dimension values, names) passes here; numbers are written as they are, so a negative
 * amount stays a number.
 */
export function safeText(value: string | null): string {
  if (value === null) return '';
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** An instant as ISO 8601 in a time zone, with its offset: 2026-11-30T00:00:00+01:00. */
export function isoInZone(at: Date, timeZone: string): string {
  const l = toLocal(at, timeZone);
  const offsetMinutes = Math.round((utcMillis(l.year, l.month, l.day, l.hour, l.minute, l.second) - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${pad(l.year, 4)}-${pad(l.month)}-${pad(l.day)}T${pad(l.hour)}:${pad(l.minute)}:${pad(l.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The header row: bucket bounds, the meter (when grouped by it), the grouped dimensions, then the figures. */
export function exportHeader(cmd: Pick<UsageReportCommand, 'groupByMeter' | 'dimensions'>): string[] {
  return [
    'bucket_start',
    'bucket_end',
    ...(cmd.groupByMeter ? ['meter', 'meter_name'] : []),
    ...cmd.dimensions.map(safeText),
    'currency',
    ...(cmd.groupByMeter ? ['quantity'] : []),
    'events',
    'amount',
    'charged',
  ];
}

/**
 * One row per bucket and group with usage, in the report's order; buckets without usage have no
 * row. Times are in the customer's time zone; amounts are decimal strings (amount exact, charged
 * as the ledger moved it). meterNames: code -> display name.
 */
export function* exportRows(report: UsageReport, cmd: Pick<UsageReportCommand, 'groupByMeter' | 'dimensions'>, meterNames: Map<string, string>): Generator<string[]> {
  const zone = report.customer.timezone;
  for (const bucket of report.buckets) {
    const start = isoInZone(bucket.start, zone);
    const end = isoInZone(bucket.end, zone);
    for (const g of bucket.groups) {
      const meter = cmd.groupByMeter ? [safeText(g.meterCode), safeText(g.meterCode ? (meterNames.get(g.meterCode) ?? g.meterCode) : null)] : [];
      const quantity = cmd.groupByMeter ? [g.quantity ? formatDecimal(g.quantity) : ''] : [];
      yield [start, end, ...meter, ...g.dimensions.map((d) => safeText(d.value)), safeText(g.currency), ...quantity, g.events.toString(), formatDecimal(g.amount), formatLedgerUnits(g.charged)];
    }
  }
}
