// The usage sections: the current period (spend, projection, cap, top models), usage by meter
// and by model and token type this period. Each loader returns the section's content; the caller
// puts it in place. Amounts shown are what was charged (what the ledger moved); meters and plans
// show their display names, falling back to their codes.
import { addDecimals, compareDecimals, dateRange, dimensionLabel, el, money, quantity } from './format.js';
import { figure, table } from './sections.js';

const DAY_MS = 86_400_000;
/** The API's cost model counts a MONTH bucket as 30 days: longer ranges are asked for in pieces. */
const CHUNK_MS = 30 * DAY_MS;
/** The dimensions the model table groups by, when the meters declare them. */
const MODEL_DIMENSIONS = ['model', 'tokenType'];

const PERIOD_QUERY = `query DashboardPeriod($id: ID!) {
  currentPeriod(customerId: $id, topModels: 5) {
    start end elapsed planCode
    spend { currency charged projected events }
    spendingCap { currency cap used remaining percentUsed }
    topModels { model currency charged }
  }
}`;

export const USAGE_QUERY = `query DashboardUsage($id: ID!, $from: DateTimeISO!, $to: DateTimeISO!, $granularity: UsageGranularity!, $groupBy: UsageGroupByInput, $filter: [UsageDimensionFilterInput!], $meterCodes: [String!]) {
  usage(customerId: $id, from: $from, to: $to, granularity: $granularity, groupBy: $groupBy, filter: $filter, meterCodes: $meterCodes) {
    buckets { start groups { meterCode aggregation quantity currency charged events dimensions { value } } }
  }
}`;

/** A meter's display name: its name, else its code. */
export const meterName = (session, code) => (code ? (session.meters?.get(code)?.name ?? code) : 'All meters');

/** What a meter's quantity counts, for a column or a cell: "tokens", "requests". */
export const unitOf = (session, code) => {
  const m = session.meters?.get(code);
  return m?.aggregation === 'COUNT' ? 'requests' : (m?.property ?? '');
};

/** Quantities of one meter across buckets: only sums and counts add up; MAX takes the largest. */
export function combineQuantity(aggregation, values) {
  if (values.length === 1 || aggregation === 'SUM' || aggregation === 'COUNT') return addDecimals(...values);
  if (aggregation === 'MAX') return values.reduce((a, b) => (compareDecimals(b, a) > 0 ? b : a));
  return null;
}

/**
 * Usage over [from, to) in MONTH buckets, merged into one bucket's groups: asked in 30-day pieces,
 * so that a long period stays within a token's cost budget. Groups are keyed by meter, currency
 * and dimension values.
 */
export async function usageTotals(ask, from, to, groupBy, filter = null, meterCodes = null) {
  const pieces = [];
  for (let start = from.getTime(); start < to.getTime(); start += CHUNK_MS) pieces.push([new Date(start), new Date(Math.min(start + CHUNK_MS, to.getTime()))]);
  const answers = await Promise.all(pieces.map(([a, b]) => ask(USAGE_QUERY, { from: a.toISOString(), to: b.toISOString(), granularity: 'MONTH', groupBy, filter, meterCodes })));
  const rows = new Map();
  for (const g of answers.flatMap((a) => a.usage.buckets.flatMap((b) => b.groups))) {
    const key = JSON.stringify([g.meterCode, g.currency, g.dimensions.map((d) => d.value)]);
    const row = rows.get(key) ?? { meterCode: g.meterCode, currency: g.currency, aggregation: g.aggregation, values: g.dimensions.map((d) => d.value), quantities: [], events: [], charges: [] };
    row.quantities.push(g.quantity ?? '0');
    row.events.push(g.events);
    row.charges.push(g.charged);
    rows.set(key, row);
  }
  return [...rows.values()].map((r) => ({ ...r, quantity: combineQuantity(r.aggregation, r.quantities), events: r.events.reduce((sum, n) => sum + n, 0), charged: addDecimals(...r.charges) }));
}

export async function loadPeriod(session, ask) {
  const { currentPeriod: p } = await ask(PERIOD_QUERY);
  session.period = p;
  const [main, ...others] = p.spend;
  const currency = main?.currency ?? session.customer.currency;
  const cap = p.spendingCap;
  const plan = p.planCode ? (session.plans?.get(p.planCode) ?? p.planCode) : null;
  return el(
    'div',
    {},
    el('p', { class: 'muted' }, dateRange(p.start, p.end), plan ? [' · plan ', el('span', { 'data-testid': 'plan-name' }, plan)] : null),
    el(
      'dl',
      { class: 'figures small' },
      figure('Spent so far', money(main?.charged ?? '0', currency), { 'data-testid': 'period-spend' }),
      figure('Projected by period end', money(main?.projected ?? '0', currency), { 'data-testid': 'period-projected' }),
      cap ? figure('Spending cap', `${money(cap.used, cap.currency)} of ${money(cap.cap, cap.currency)}`, { 'data-testid': 'period-cap' }) : null,
    ),
    cap ? el('progress', { max: cap.cap, value: cap.used, 'aria-label': 'Spending cap used' }) : null,
    el('p', { class: 'muted' }, `${quantity(String(Number(p.elapsed) * 100))}% of the period has passed.`),
    others.map((s) => el('p', {}, `Also ${money(s.charged, s.currency)} in ${s.currency} (projected ${money(s.projected, s.currency)}).`)),
    p.topModels.length > 0
      ? el('div', {}, el('h3', {}, 'Top models'), el('ol', { class: 'top-models' }, p.topModels.map((m) => el('li', {}, el('span', {}, m.model), el('span', { class: 'num' }, money(m.charged, m.currency))))))
      : null,
  );
}

/**
 * The customer's now: the real time, or for a customer on a test clock an instant just after the
 * clock's time (usage stamped with it counts).
 */
export const sessionNow = (session) => (session.customer?.testClock ? new Date(Date.parse(session.customer.testClock.frozenTime) + 1) : new Date());

const periodStart = (session) => new Date(session.period?.start ?? sessionNow(session).getTime() - 30 * DAY_MS);

export async function loadMeters(session, ask) {
  const rows = (await usageTotals(ask, periodStart(session), sessionNow(session), { meter: true })).sort((a, b) => meterName(session, a.meterCode).localeCompare(meterName(session, b.meterCode)));
  if (rows.length === 0) return el('p', { class: 'muted' }, 'No usage in this period yet.');
  const cells = rows.map((r) => [meterName(session, r.meterCode), `${quantity(r.quantity)} ${unitOf(session, r.meterCode)}`.trim(), quantity(r.events), money(r.charged, r.currency)]);
  return table('Usage by meter this period', ['Meter', 'Quantity', 'Requests', 'Charged'], cells);
}

/**
 * Tokens, requests and charges per meter, model and token type this period: one query per meter
 * that declares a model (usually one), grouped by its dimensions alone, which costs a fifth of
 * grouping by meter too.
 */
export async function loadModels(session, ask) {
  const meters = [...(session.meters?.values() ?? [])].filter((m) => m.dimensions.includes(MODEL_DIMENSIONS[0]));
  if (meters.length === 0) return el('p', { class: 'muted' }, 'Your meters have no model dimension.');
  const dimensions = MODEL_DIMENSIONS.filter((d) => meters.some((m) => m.dimensions.includes(d)));
  const perMeter = await Promise.all(meters.map((m) => usageTotals(ask, periodStart(session), sessionNow(session), { dimensions }, null, [m.code])));
  const rows = perMeter
    .flat()
    .filter((r) => r.values.some((v) => v !== null))
    .sort((a, b) => compareDecimals(b.charged, a.charged) || a.values.join().localeCompare(b.values.join()));
  if (rows.length === 0) return el('p', { class: 'muted' }, 'No usage by model in this period yet.');
  // One meter (the usual case): its name heads the quantity column instead of a column of its own, narrower on a phone.
  const single = meters.length === 1;
  const cells = rows.map((r) => [r.values[0] ?? '—', ...r.values.slice(1).map((v) => v ?? '—'), ...(single ? [] : [meterName(session, r.meterCode)]), quantity(r.quantity), quantity(r.events), money(r.charged, r.currency)]);
  const headers = [...dimensions.map(dimensionLabel), ...(single ? [] : ['Meter']), single ? meterName(session, meters[0].code) : 'Quantity', 'Requests', 'Charged'];
  return table('Usage by model and token type this period', headers, cells, dimensions.length + (single ? 0 : 1));
}

/** Shows the spend pushed with a usage event at once, before the period is read again. */
export function showLiveSpend(session, update) {
  if (update.periodSpend === null || update.periodSpend === undefined || update.event.currency !== session.customer.currency) return;
  const text = money(update.periodSpend, update.event.currency);
  const node = document.querySelector('[data-testid="period-spend"]');
  if (node) node.textContent = text;
  else document.getElementById('period-body').replaceChildren(el('dl', { class: 'figures small' }, figure('Spent so far', text, { 'data-testid': 'period-spend' })));
}
