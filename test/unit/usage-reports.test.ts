import { describe, expect, it } from 'vitest';
import { binSpan, bucketBounds, bucketStart } from '../../src/modules/usage-reports/usage-buckets.pure.js';
import { elapsedShare, projectSpend } from '../../src/modules/usage-reports/usage-projection.pure.js';
import { AppError } from '../../src/shared/errors.js';
import { Decimal } from '../../src/shared/money/decimal.js';

const d = (iso: string) => new Date(iso);
const iso = (dates: Date[]) => dates.map((x) => x.toISOString());

describe('usage buckets', () => {
  it('starts buckets on the wall clock of the zone', () => {
    expect(bucketStart(d('2026-03-09T18:29:59Z'), 'DAY', 'Asia/Kolkata').toISOString()).toBe('2026-03-08T18:30:00.000Z');
    expect(bucketStart(d('2026-03-09T18:30:00Z'), 'DAY', 'Asia/Kolkata').toISOString()).toBe('2026-03-09T18:30:00.000Z');
    expect(bucketStart(d('2026-03-09T18:29:59.500Z'), 'HOUR', 'Asia/Kathmandu').toISOString()).toBe('2026-03-09T18:15:00.000Z');
    expect(bucketStart(d('2026-03-15T00:00:00Z'), 'MONTH', 'America/New_York').toISOString()).toBe('2026-03-01T05:00:00.000Z');
  });

  it('cuts days and months at local midnight across daylight saving changes', () => {
    expect(iso(bucketBounds(d('2026-03-07T05:00:00Z'), d('2026-03-09T12:00:00Z'), 'DAY', 'America/New_York'))).toEqual([
      '2026-03-07T05:00:00.000Z',
      '2026-03-08T05:00:00.000Z',
      '2026-03-09T04:00:00.000Z',
      '2026-03-10T04:00:00.000Z',
    ]);
    expect(iso(bucketBounds(d('2026-10-15T00:00:00Z'), d('2026-11-15T00:00:00Z'), 'MONTH', 'Europe/Paris'))).toEqual([
      '2026-09-30T22:00:00.000Z',
      '2026-10-31T23:00:00.000Z',
      '2026-11-30T23:00:00.000Z',
    ]);
    // The repeated hour when clocks go back is a bucket of its own.
    expect(iso(bucketBounds(d('2026-11-01T05:00:00Z'), d('2026-11-01T07:00:00Z'), 'HOUR', 'America/New_York'))).toEqual([
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
    ]);
  });

  it('caps the number of buckets', () => {
    expect(bucketBounds(d('2026-01-01T00:00:00Z'), d('2026-02-11T16:00:00Z'), 'HOUR', 'UTC')).toHaveLength(1001);
    expect(() => bucketBounds(d('2026-01-01T00:00:00Z'), d('2026-02-11T16:00:01Z'), 'HOUR', 'UTC')).toThrow(AppError);
  });

  it('keeps whole 15-minute bins for the rollup and leaves the edges to the events', () => {
    expect(binSpan(d('2026-03-01T10:07:00Z'), d('2026-03-01T11:52:00Z'))).toEqual({ lo: d('2026-03-01T10:15:00Z'), hi: d('2026-03-01T11:45:00Z') });
    expect(binSpan(d('2026-03-01T10:00:00Z'), d('2026-03-01T11:00:00Z'))).toEqual({ lo: d('2026-03-01T10:00:00Z'), hi: d('2026-03-01T11:00:00Z') });
    expect(binSpan(d('2026-03-01T10:01:00Z'), d('2026-03-01T10:14:00Z'))).toEqual({ lo: d('2026-03-01T10:14:00Z'), hi: d('2026-03-01T10:14:00Z') });
  });
});

describe('spend projection', () => {
  const april = { start: d('2026-04-01T00:00:00Z'), end: d('2026-05-01T00:00:00Z') };

  it('extrapolates linearly once a day has passed', () => {
    expect(projectSpend(new Decimal(10), april, d('2026-04-11T00:00:00Z')).toFixed()).toBe('30');
    expect(projectSpend(new Decimal('1.5'), april, d('2026-04-02T00:00:00Z')).toFixed()).toBe('45');
    expect(elapsedShare(april, d('2026-04-11T00:00:00Z')).toFixed()).toBe('0.3333');
  });

  it('measures the rate over at least a day at the start of a period', () => {
    // One hour in: 2 spent is taken as 2 a day, not 48 a day.
    expect(projectSpend(new Decimal(2), april, d('2026-04-01T01:00:00Z')).toFixed()).toBe(new Decimal(2).plus(new Decimal(2).times(719).div(24)).toDecimalPlaces(9, Decimal.ROUND_HALF_UP).toFixed());
    // A weekly period: the window is a tenth of it (16.8 hours).
    const week = { start: d('2026-04-06T00:00:00Z'), end: d('2026-04-13T00:00:00Z') };
    expect(projectSpend(new Decimal('16.8'), week, d('2026-04-06T01:00:00Z')).toFixed()).toBe('183.8');
  });

  it('projects what was spent when nothing was, or the period is over', () => {
    expect(projectSpend(new Decimal(0), april, d('2026-04-11T00:00:00Z')).toFixed()).toBe('0');
    expect(projectSpend(new Decimal(7), april, d('2026-05-03T00:00:00Z')).toFixed()).toBe('7');
    expect(projectSpend(new Decimal(7), april, d('2026-03-31T00:00:00Z')).toFixed()).toBe(new Decimal(7).plus(new Decimal(7).times(30)).toFixed());
  });
});
