import { describe, expect, it } from 'vitest';
import { isoInZone, parseExportQuery, safeText } from '../../src/modules/usage-reports/usage-export.pure.js';
import { ValidationError } from '../../src/shared/errors.js';

describe('usage export', () => {
  it('prefixes every cell a spreadsheet would run, and nothing else', () => {
    for (const v of ['=1+1', '+SUM(A1)', '-2+3', '@cmd', '\tx', '\rx']) expect(safeText(v)).toBe(`'${v}`);
    for (const v of ['web', 'a=b', ' =x', '', "'quoted"]) expect(safeText(v)).toBe(v);
    expect(safeText(null)).toBe('');
  });

  it('writes instants with the zone offset in force then, half hours and summer time included', () => {
    expect(isoInZone(new Date('2026-03-09T18:30:00Z'), 'Asia/Kolkata')).toBe('2026-03-10T00:00:00+05:30');
    expect(isoInZone(new Date('2026-03-01T00:00:00Z'), 'Europe/Paris')).toBe('2026-03-01T01:00:00+01:00');
    expect(isoInZone(new Date('2026-07-01T00:00:00Z'), 'Europe/Paris')).toBe('2026-07-01T02:00:00+02:00');
    expect(isoInZone(new Date('2026-07-01T00:00:00Z'), 'America/St_Johns')).toBe('2026-06-30T21:30:00-02:30');
    expect(isoInZone(new Date('2026-07-01T00:00:00Z'), 'UTC')).toBe('2026-07-01T00:00:00+00:00');
  });

  it('reads the query string into a usage report command, and refuses what it cannot read', () => {
    const q = new URLSearchParams('from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&bucket=hour&groupBy=meter,model&filter=apiKey:k:1&filter=apiKey:k2&filter=project:web&meter=tokens');
    expect(parseExportQuery(q, 'c-1')).toEqual({
      customerId: 'c-1',
      from: new Date('2026-03-01T00:00:00Z'),
      to: new Date('2026-04-01T00:00:00Z'),
      granularity: 'HOUR',
      groupByMeter: true,
      dimensions: ['model'],
      meterCodes: ['tokens'],
      filters: [
        { key: 'apiKey', values: ['k:1', 'k2'] },
        { key: 'project', values: ['web'] },
      ],
    });
    const bad = () => parseExportQuery(new URLSearchParams('from=yesterday&bucket=WEEK&filter=nokey'), null);
    expect(bad).toThrow(ValidationError);
    try {
      bad();
    } catch (err) {
      expect((err as ValidationError).problems.map((p) => p.path)).toEqual(['customerId', 'from', 'to', 'bucket', 'filter']);
    }
  });
});
