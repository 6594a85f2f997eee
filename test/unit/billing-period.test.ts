import { describe, expect, it } from 'vitest';
import { periodAt } from '../../src/modules/subscriptions/billing-period.pure.js';
import { fromLocal, toLocal } from '../../src/shared/time-zones.js';

const iso = (p: { start: Date; end: Date }) => [p.start.toISOString(), p.end.toISOString()];

describe('time zones', () => {
  it('finds the instant of a local midnight, across daylight saving', () => {
    expect(fromLocal(2026, 3, 1, 'Europe/Paris').toISOString()).toBe('2026-02-28T23:00:00.000Z');
    expect(fromLocal(2026, 4, 1, 'Europe/Paris').toISOString()).toBe('2026-03-31T22:00:00.000Z');
    expect(fromLocal(2026, 11, 1, 'America/New_York').toISOString()).toBe('2026-11-01T04:00:00.000Z');
    expect(fromLocal(2026, 3, 29, 'Europe/Paris', 2, 30).toISOString()).toBe('2026-03-29T01:30:00.000Z'); // skipped: 03:30 local
    expect(fromLocal(2026, 10, 25, 'Europe/Paris', 2, 30).toISOString()).toBe('2026-10-25T00:30:00.000Z'); // repeated: the earlier
    expect(toLocal(new Date('2026-03-31T22:00:00Z'), 'Europe/Paris')).toMatchObject({ year: 2026, month: 4, day: 1, hour: 0 });
  });
});

describe('billing periods', () => {
  it('aligns monthly periods to the calendar in the customer time zone', () => {
    const p = periodAt('MONTHLY', 'CALENDAR', new Date('2026-01-15T00:00:00Z'), 'Asia/Tokyo', new Date('2026-02-28T15:30:00Z'));
    expect(iso(p)).toEqual(['2026-02-28T15:00:00.000Z', '2026-03-31T15:00:00.000Z']);
  });

  it('aligns quarters, years and weeks', () => {
    expect(iso(periodAt('QUARTERLY', 'CALENDAR', new Date(0), 'UTC', new Date('2026-05-20T00:00:00Z')))).toEqual(['2026-04-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z']);
    expect(iso(periodAt('YEARLY', 'CALENDAR', new Date(0), 'UTC', new Date('2026-05-20T00:00:00Z')))).toEqual(['2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
    expect(iso(periodAt('WEEKLY', 'CALENDAR', new Date(0), 'UTC', new Date('2026-11-22T10:00:00Z')))).toEqual(['2026-11-16T00:00:00.000Z', '2026-11-23T00:00:00.000Z']);
  });

  it('runs anniversary periods from the anchor, clamping to short months', () => {
    const anchor = new Date('2026-01-31T09:00:00Z');
    expect(iso(periodAt('MONTHLY', 'ANNIVERSARY', anchor, 'UTC', new Date('2026-02-15T00:00:00Z')))).toEqual(['2026-01-31T09:00:00.000Z', '2026-02-28T09:00:00.000Z']);
    expect(iso(periodAt('MONTHLY', 'ANNIVERSARY', anchor, 'UTC', new Date('2026-03-01T00:00:00Z')))).toEqual(['2026-02-28T09:00:00.000Z', '2026-03-31T09:00:00.000Z']);
    expect(iso(periodAt('MONTHLY', 'ANNIVERSARY', anchor, 'UTC', new Date('2026-01-31T08:59:59Z')))).toEqual(['2025-12-31T09:00:00.000Z', '2026-01-31T09:00:00.000Z']);
    expect(iso(periodAt('WEEKLY', 'ANNIVERSARY', new Date('2026-11-18T12:00:00Z'), 'UTC', new Date('2026-11-25T11:00:00Z')))).toEqual(['2026-11-18T12:00:00.000Z', '2026-11-25T12:00:00.000Z']);
  });

  it('starts calendar periods on the billing day, clamped to the last day of short months', () => {
    const monthly = (day: number, at: string, tz = 'UTC') => iso(periodAt('MONTHLY', 'CALENDAR', new Date(0), tz, new Date(at), day));
    expect(monthly(15, '2026-03-20T00:00:00Z')).toEqual(['2026-03-15T00:00:00.000Z', '2026-04-15T00:00:00.000Z']);
    expect(monthly(15, '2026-03-14T23:59:59Z')).toEqual(['2026-02-15T00:00:00.000Z', '2026-03-15T00:00:00.000Z']);
    expect(monthly(15, '2026-03-15T00:00:00Z')).toEqual(['2026-03-15T00:00:00.000Z', '2026-04-15T00:00:00.000Z']);
    expect(monthly(31, '2026-02-10T00:00:00Z')).toEqual(['2026-01-31T00:00:00.000Z', '2026-02-28T00:00:00.000Z']);
    expect(monthly(31, '2026-03-30T00:00:00Z')).toEqual(['2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z']);
    expect(monthly(31, '2026-04-30T12:00:00Z')).toEqual(['2026-04-30T00:00:00.000Z', '2026-05-31T00:00:00.000Z']);
    expect(monthly(29, '2028-02-29T00:00:00Z')).toEqual(['2028-02-29T00:00:00.000Z', '2028-03-29T00:00:00.000Z']);
    expect(monthly(1, '2026-03-20T00:00:00Z')).toEqual(['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
    // At local midnight of the billing day, in the customer time zone.
    expect(monthly(10, '2026-03-09T15:30:00Z', 'Asia/Tokyo')).toEqual(['2026-03-09T15:00:00.000Z', '2026-04-09T15:00:00.000Z']);
    // Across a year end, and on quarters and years.
    expect(monthly(20, '2026-01-05T00:00:00Z')).toEqual(['2025-12-20T00:00:00.000Z', '2026-01-20T00:00:00.000Z']);
    expect(iso(periodAt('QUARTERLY', 'CALENDAR', new Date(0), 'UTC', new Date('2026-04-10T00:00:00Z'), 15))).toEqual(['2026-01-15T00:00:00.000Z', '2026-04-15T00:00:00.000Z']);
    expect(iso(periodAt('YEARLY', 'CALENDAR', new Date(0), 'UTC', new Date('2026-05-20T00:00:00Z'), 31))).toEqual(['2026-01-31T00:00:00.000Z', '2027-01-31T00:00:00.000Z']);
  });

  it('lays out consecutive billing-day periods without gaps', () => {
    let p = periodAt('MONTHLY', 'CALENDAR', new Date(0), 'Europe/Paris', new Date('2026-01-31T12:00:00Z'), 30);
    for (let i = 0; i < 14; i++) {
      const next = periodAt('MONTHLY', 'CALENDAR', new Date(0), 'Europe/Paris', p.end, 30);
      expect(next.start.getTime()).toBe(p.end.getTime());
      expect(next.end.getTime()).toBeGreaterThan(next.start.getTime());
      p = next;
    }
  });
});
