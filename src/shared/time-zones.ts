/** Calendar arithmetic in IANA time zones, with Intl only (no dependency). */

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
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock time of an instant in a time zone. */
export function toLocal(at: Date, timeZone: string): LocalDateTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(at)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
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
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The instant at which the wall clock of a zone shows the given local time. Like Temporal's
 * "compatible" rule: an ambiguous time (clocks turned back) is the earlier instant; a time the
 * clocks skipped moves forward by the length of the gap.
 */
export function fromLocal(year: number, month: number, day: number, timeZone: string, hour = 0, minute = 0, second = 0): Date {
  const guess = Date.UTC(year, month - 1, day, hour, minute, second);
  const before = offsetAt(new Date(guess - 86_400_000), timeZone);
  const after = offsetAt(new Date(guess + 86_400_000), timeZone);
  const shows = (t: number) => {
    const l = toLocal(new Date(t), timeZone);
    return l.year === year && l.month === month && l.day === day && l.hour === hour && l.minute === minute && l.second === second;
  };
  const candidates = [guess - before, guess - after].filter(shows).sort((a, b) => a - b);
  return new Date(candidates[0] ?? guess - before);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Adds months to a local date, clamping the day to the month's length (Jan 31 + 1 month = Feb 28/29). */
export function addMonths(year: number, month: number, day: number, months: number): { year: number; month: number; day: number } {
  const index = year * 12 + (month - 1) + months;
  const y = Math.floor(index / 12);
  const m = (index % 12) + 1;
  return { year: y, month: m, day: Math.min(day, daysInMonth(y, m)) };
}
