import { describe, expect, it } from 'vitest';
import { bucketBounds, bucketStart, nextBucketStart } from '../../src/modules/usage-reports/usage-buckets.pure.js';
import { periodAt } from '../../src/modules/subscriptions/billing-period.pure.js';
import { AppError, ErrorCode } from '../../src/shared/errors.js';
import { addMonths, daysInMonth, fromLocal, toLocal, utcMillis } from '../../src/shared/time-zones.js';

const ZONES = ['UTC', 'America/New_York', 'Europe/Paris', 'Pacific/Kiritimati', 'Australia/Lord_Howe', 'Asia/Kathmandu'];

/** Runs fn; a result or a clean AppError pass, anything else (a RangeError from a stack overflow or from Intl) fails. */
function resultOrCleanError<T>(fn: () => T): T | AppError {
  try {
    return fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(ErrorCode.VALIDATION_FAILED);
    return err as AppError;
  }
}

describe('calendar arithmetic on the years 1 to 99', () => {
  it('reads years below 100 as themselves, not as 1900 to 1999', () => {
    expect(new Date(utcMillis(50, 6, 1)).toISOString()).toBe('0050-06-01T00:00:00.000Z');
    expect(new Date(utcMillis(1, 1, 0)).toISOString()).toBe('0000-12-31T00:00:00.000Z');
    expect(fromLocal(50, 6, 1, 'UTC').toISOString()).toBe('0050-06-01T00:00:00.000Z');
    expect(daysInMonth(48, 2)).toBe(29); // a leap year; 1948 is one too, but 100 and 1900 are not
    expect(daysInMonth(100, 2)).toBe(28);
    expect(addMonths(0, 1, 31, -1)).toEqual({ year: -1, month: 12, day: 31 });
  });

  it('round-trips local times in every zone, the era included', () => {
    for (const timeZone of ZONES) {
      for (const [y, m, d] of [[1, 1, 1], [50, 6, 15], [99, 12, 31], [0, 2, 29], [2026, 3, 8]] as const) {
        const at = fromLocal(y, m, d, timeZone, 12, 30, 15);
        expect(toLocal(at, timeZone), `${timeZone} ${y}-${m}-${d}`).toMatchObject({ year: y, month: m, day: d, hour: 12, minute: 30, second: 15 });
      }
    }
  });

  it('finds buckets and periods for the years 1, 50 and 99 without overflowing the stack', () => {
    for (const timeZone of ZONES) {
      for (const text of ['0001-01-01T00:00:00Z', '0050-06-01T12:00:00Z', '0099-12-31T23:59:59Z']) {
        const at = new Date(text);
        for (const granularity of ['HOUR', 'DAY', 'MONTH'] as const) {
          const start = bucketStart(at, granularity, timeZone);
          expect(start.getTime(), `${timeZone} ${text} ${granularity}`).toBeLessThanOrEqual(at.getTime());
          expect(nextBucketStart(start, granularity, timeZone).getTime()).toBeGreaterThan(at.getTime());
        }
        const day = bucketBounds(at, new Date(at.getTime() + 2 * 86_400_000), 'DAY', timeZone);
        expect(day.length).toBeGreaterThanOrEqual(3);
        for (const interval of ['WEEKLY', 'MONTHLY', 'YEARLY'] as const) {
          for (const alignment of ['CALENDAR', 'ANNIVERSARY'] as const) {
            const p = periodAt(interval, alignment, new Date('0001-01-31T10:00:00Z'), timeZone, at);
            expect(p.start.getTime(), `${timeZone} ${text} ${interval} ${alignment}`).toBeLessThanOrEqual(at.getTime());
            expect(p.end.getTime()).toBeGreaterThan(at.getTime());
          }
        }
      }
    }
  });

  it('puts a DAY bucket of the year 50 in the year 50', () => {
    expect(bucketStart(new Date('0050-06-01T12:00:00Z'), 'DAY', 'UTC').toISOString()).toBe('0050-06-01T00:00:00.000Z');
    expect(bucketBounds(new Date('0050-01-01T00:00:00Z'), new Date('0050-01-03T00:00:00Z'), 'DAY', 'UTC').map((d) => d.toISOString())).toEqual([
      '0050-01-01T00:00:00.000Z',
      '0050-01-02T00:00:00.000Z',
      '0050-01-03T00:00:00.000Z',
    ]);
  });
});

describe('calendar arithmetic far in the future and at the ends of time', () => {
  it('gives a result or a clean VALIDATION_FAILED, never a RangeError', () => {
    const instants = ['9999-12-31T23:00:00Z', '+100000-01-01T00:00:00Z', '+275760-09-10T00:00:00Z', '+275760-09-13T00:00:00Z', '-271821-04-20T00:00:00Z'].map((t) => new Date(t));
    for (const timeZone of ZONES) {
      for (const at of [...instants, new Date(NaN)]) {
        resultOrCleanError(() => toLocal(at, timeZone));
        resultOrCleanError(() => bucketStart(at, 'DAY', timeZone));
        resultOrCleanError(() => bucketStart(at, 'MONTH', timeZone));
        resultOrCleanError(() => periodAt('MONTHLY', 'ANNIVERSARY', new Date('2026-01-31T00:00:00Z'), timeZone, at));
        resultOrCleanError(() => periodAt('WEEKLY', 'CALENDAR', at, timeZone, at));
      }
      resultOrCleanError(() => fromLocal(275760, 9, 13, timeZone));
      resultOrCleanError(() => fromLocal(Number.NaN, 1, 1, timeZone));
      resultOrCleanError(() => fromLocal(1e9, 1, 1, timeZone));
    }
    expect(bucketStart(new Date('9999-12-31T23:00:00Z'), 'MONTH', 'UTC').toISOString()).toBe('9999-12-01T00:00:00.000Z');
    expect(resultOrCleanError(() => toLocal(new Date('+275760-09-13T00:00:00Z'), 'UTC'))).toBeInstanceOf(AppError);
  });
});
