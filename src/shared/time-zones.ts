/** Calendar arithmetic in IANA time zones, with Intl only (no dependency). */
import { AppError, ErrorCode } from './errors.js';

export interface LocalDateTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 1 = Monday … 7 = Sunday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
      // Without the era, 1 BC and AD 1 both read "1".
      era: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** One day, in milliseconds. */
const DAY_MS = 86_400_000;

/**
 * The instants calendar arithmetic works with: a JavaScript Date's range (±8.64e15 ms, about
 * 271,821 BC to AD 275,760) less a week at each end, so that the probes a day or a week away
 * (fromLocal, weekly periods) are still dates. Outside, the arithmetic refuses cleanly instead of
 * failing inside Intl. Inputs from the API are far narrower (the DateTimeISO scalar).
 */
const CALENDAR_LIMIT_MS = 8.64e15 - 7 * DAY_MS;

function supported(ms: number): number {
  if (!(Math.abs(ms) <= CALENDAR_LIMIT_MS)) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, 'the date is outside the range calendar arithmetic supports');
  }
  return ms;
}

/**
 * Milliseconds since the epoch of a UTC wall-clock time, like Date.UTC except that the years 0 to
 * 99 are those years: Date.UTC reads them as 1900 to 1999, which sent local-time conversions of
 * such dates 1,900 years off (and a caller stepping back towards them into a stack overflow).
 * Months, days and times out of range carry over, as with Date.UTC.
 */
export function utcMillis(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** The wall-clock time of an instant in a time zone. */
export function toLocal(at: Date, timeZone: string): LocalDateTime {
  supported(at.getTime());
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(at)) parts[p.type] = p.value;
  const year = Number(parts.year);
  return {
    year: parts.era === 'BC' ? 1 - year : year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS[parts.weekday!]!,
  };
}

/** Offset of the zone from UTC at an instant, in milliseconds. */
function offsetAt(at: Date, timeZone: string): number {
  const l = toLocal(at, timeZone);
  const asUtc = utcMillis(l.year, l.month, l.day, l.hour, l.minute, l.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The instant at which the wall clock of a zone shows the given local time. Like Temporal's
 * "compatible" rule: an ambiguous time (clocks turned back) is the earlier instant; a time the
 * clocks skipped moves forward by the length of the gap.
 */
export function fromLocal(year: number, month: number, day: number, timeZone: string, hour = 0, minute = 0, second = 0): Date {
  const guess = supported(utcMillis(year, month, day, hour, minute, second));
  const before = offsetAt(new Date(guess - DAY_MS), timeZone);
  const after = offsetAt(new Date(guess + DAY_MS), timeZone);
  const shows = (t: number) => {
    const l = toLocal(new Date(t), timeZone);
    return l.year === year && l.month === month && l.day === day && l.hour === hour && l.minute === minute && l.second === second;
  };
  const candidates = [guess - before, guess - after].filter(shows).sort((a, b) => a - b);
  return new Date(candidates[0] ?? guess - before);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(utcMillis(year, month + 1, 0)).getUTCDate();
}

/** Adds months to a local date, clamping the day to the month's length (Jan 31 + 1 month = Feb 28/29). */
export function addMonths(year: number, month: number, day: number, months: number): { year: number; month: number; day: number } {
  const index = year * 12 + (month - 1) + months;
  const y = Math.floor(index / 12);
  // Floored, like y: before year 0 the index is negative, and % would give a negative month.
  const m = index - y * 12 + 1;
  return { year: y, month: m, day: Math.min(day, daysInMonth(y, m)) };
}
