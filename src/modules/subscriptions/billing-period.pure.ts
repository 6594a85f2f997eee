import { addMonths, fromLocal, toLocal, utcMillis } from '../../shared/time-zones.js';
import type { BillingInterval } from '../plans/index.js';

export type Alignment = 'CALENDAR' | 'ANNIVERSARY';

export interface Period {
  start: Date;
  end: Date;
}

const MONTHS: Record<BillingInterval, number> = { WEEKLY: 0, MONTHLY: 1, QUARTERLY: 3, YEARLY: 12 };

/**
 * The billing period holding `at`, in the customer's time zone. CALENDAR periods start at
 * midnight on the first day of the month (quarter, year) or on Monday; with a `billingDay` (1-31)
 * on that day of the month instead, the last day of a shorter month when it has no such day
 * (a 31 bills on 30 April and 28 or 29 February). ANNIVERSARY periods start at the anchor's local
 * time of day on its day of the month (clamped to short months) or weekday.
 */
export function periodAt(interval: BillingInterval, alignment: Alignment, anchor: Date, timeZone: string, at: Date, billingDay: number | null = null): Period {
  if (interval === 'WEEKLY') return weekly(alignment, anchor, timeZone, at);
  const months = MONTHS[interval];
  const a = toLocal(anchor, timeZone);
  const l = toLocal(at, timeZone);
  const calendarDay = alignment === 'CALENDAR' ? (billingDay ?? 1) : null;
  const boundary = (k: number): Date => {
    if (calendarDay !== null) {
      const firstMonth = Math.floor((l.month - 1) / months) * months + 1;
      const d = addMonths(l.year, firstMonth, calendarDay, k * months);
      return fromLocal(d.year, d.month, d.day, timeZone);
    }
    // Anniversary: count whole intervals from the anchor.
    const d = addMonths(a.year, a.month, a.day, k * months);
    return fromLocal(d.year, d.month, d.day, timeZone, a.hour, a.minute, a.second);
  };
  if (calendarDay === 1) return { start: boundary(0), end: boundary(1) };
  let k = calendarDay !== null ? 0 : Math.floor(((l.year - a.year) * 12 + (l.month - a.month)) / months);
  while (boundary(k).getTime() > at.getTime()) k--;
  while (boundary(k + 1).getTime() <= at.getTime()) k++;
  return { start: boundary(k), end: boundary(k + 1) };
}

function weekly(alignment: Alignment, anchor: Date, timeZone: string, at: Date): Period {
  const l = toLocal(at, timeZone);
  const a = toLocal(anchor, timeZone);
  const startWeekday = alignment === 'CALENDAR' ? 1 : a.weekday;
  const back = (l.weekday - startWeekday + 7) % 7;
  const day = (offset: number) => {
    const t = new Date(utcMillis(l.year, l.month, l.day + offset));
    return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
  };
  const h = alignment === 'CALENDAR' ? [0, 0, 0] : [a.hour, a.minute, a.second];
  let s = day(-back);
  let start = fromLocal(s.y, s.m, s.d, timeZone, h[0], h[1], h[2]);
  if (start.getTime() > at.getTime()) {
    s = day(-back - 7);
    start = fromLocal(s.y, s.m, s.d, timeZone, h[0], h[1], h[2]);
  }
  const e = toLocal(start, timeZone);
  const next = new Date(utcMillis(e.year, e.month, e.day + 7));
  return { start, end: fromLocal(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone, h[0], h[1], h[2]) };
}

/** The key a period is known by in counters: the ISO instant of its start. */
export const periodKey = (p: Period): string => p.start.toISOString();
