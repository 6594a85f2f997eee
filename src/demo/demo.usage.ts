/**
 * A month of made-up but plausible usage for the demo customer: model calls (input and output
 * tokens) across four models and three projects, more on weekdays and in office hours, a few
 * GPU jobs, and team seats. Pure: the same seed gives the same events.
 */

export interface DemoEvent {
  meterCode: string;
  /** A decimal string, as the API takes it. */
  quantity: string;
  dimensions: Record<string, string>;
  timestamp: string;
  idempotencyKey: string;
}

export interface DemoDay {
  /** 0 for the first day of the period. */
  index: number;
  /** Local midnight that starts the day, and the next one (23 or 25 hours later on a clock change). */
  start: Date;
  end: Date;
  /** 1 (Monday) to 7 (Sunday), in the customer's time zone. */
  weekday: number;
}

interface Model {
  name: string;
  weight: number;
  /** Typical tokens of one call; each call varies around these. */
  input: number;
  output: number;
}

const MODELS: Model[] = [
  { name: 'claude-sonnet-4', weight: 0.3, input: 28_000, output: 2_200 },
  { name: 'gpt-4o', weight: 0.22, input: 18_000, output: 1_600 },
  { name: 'gpt-4o-mini', weight: 0.33, input: 12_000, output: 1_100 },
  { name: 'claude-haiku-4', weight: 0.15, input: 8_000, output: 800 },
];
const PROJECTS = [
  { name: 'support-assistant', weight: 0.5 },
  { name: 'code-review', weight: 0.3 },
  { name: 'docs-search', weight: 0.2 },
];
/** Relative traffic per local hour: quiet at night, a peak before and after lunch. */
const HOURS = [1, 1, 1, 1, 1, 2, 3, 6, 10, 14, 15, 13, 9, 12, 15, 14, 12, 9, 6, 5, 4, 3, 2, 1];
const WEEKDAY_CALLS = 60;
const WEEKEND_CALLS = 16;

/** A small deterministic random generator (mulberry32): values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T extends { weight: number }>(items: T[], random: () => number): T {
  const total = items.reduce((sum, i) => sum + i.weight, 0);
  let r = random() * total;
  for (const item of items) if ((r -= item.weight) < 0) return item;
  return items[items.length - 1]!;
}

/** A whole number around `typical`: between a third of it and about three times it, skewed low. */
function around(typical: number, random: () => number): number {
  return Math.max(1, Math.round(typical * (0.35 + 2.6 * random() ** 2)));
}

/** An instant in the day, in a local hour drawn from HOURS (hours scale with a 23- or 25-hour day). */
function timeIn(day: DemoDay, random: () => number): Date {
  const hour = pick(HOURS.map((weight, h) => ({ weight, h })), random).h;
  const length = day.end.getTime() - day.start.getTime();
  const offset = ((hour + random()) / 24) * length;
  return new Date(Math.min(day.start.getTime() + Math.floor(offset), day.end.getTime() - 1));
}

/**
 * One day's events, in time order. Traffic grows slowly over the month and weekends are quiet;
 * each call is two events (input and output tokens); idempotency keys are `<prefix>-<day>-<n>`.
 */
export function usageOfDay(day: DemoDay, keyPrefix: string, random: () => number): DemoEvent[] {
  const weekend = day.weekday >= 6;
  const growth = 1 + day.index / 60;
  const calls = Math.round((weekend ? WEEKEND_CALLS : WEEKDAY_CALLS) * growth * (0.8 + 0.4 * random()));
  const drafts: Array<Omit<DemoEvent, 'idempotencyKey'>> = [];
  for (let i = 0; i < calls; i++) {
    const model = pick(MODELS, random);
    const project = pick(PROJECTS, random).name;
    const timestamp = timeIn(day, random).toISOString();
    for (const [tokenType, typical] of [['input', model.input], ['output', model.output]] as const) {
      drafts.push({ meterCode: 'llm_tokens', quantity: String(around(typical, random)), dimensions: { model: model.name, tokenType, project }, timestamp });
    }
  }
  // A fine-tuning or evaluation job on some weekdays.
  if (!weekend && random() < 0.35) {
    drafts.push({ meterCode: 'gpu_minutes', quantity: String(20 + Math.round(160 * random())), dimensions: { project: pick(PROJECTS, random).name }, timestamp: timeIn(day, random).toISOString() });
  }
  // Seats: five from the start of the period, two more joining in the middle of the month.
  if (day.index === 0) drafts.push({ meterCode: 'seats', quantity: '5', dimensions: {}, timestamp: new Date(day.start.getTime() + 9 * 3_600_000).toISOString() });
  if (day.index === 14) drafts.push({ meterCode: 'seats', quantity: '7', dimensions: {}, timestamp: new Date(day.start.getTime() + 10 * 3_600_000).toISOString() });
  drafts.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  return drafts.map((d, n) => ({ ...d, idempotencyKey: `${keyPrefix}-${day.index}-${n}` }));
}
