// The usage sections: the current period (spend, projection, cap, top models), usage by meter
// and daily spend by model. Each loader returns the section's content; the caller puts it in
// place. Amounts shown are what was charged (what the ledger moved).
import { stackedBarChart } from './chart.js';
import { addDecimals, dateRange, day, el, money, quantity } from './format.js';
import { figure } from './sections.js';

const DAYS = 14;
const DAY_MS = 86_400_000;

const PERIOD_QUERY = `query DashboardPeriod($id: ID!) {
  currentPeriod(customerId: $id, topModels: 5) {
    start end elapsed planCode
    spend { currency charged projected events }
    spendingCap { currency cap used remaining percentUsed }
    topModels { model currency charged }
  }
}`;

const USAGE_QUERY = `query DashboardUsage($id: ID!, $from: DateTimeISO!, $to: DateTimeISO!, $granularity: UsageGranularity!, $groupBy: UsageGroupByInput) {
  usage(customerId: $id, from: $from, to: $to, granularity: $granularity, groupBy: $groupBy) {
    timezone
    buckets { start groups { meterCode aggregation quantity currency charged dimensions { key value } } }
  }
}`;

export async function loadPeriod(session, ask) {
  const { currentPeriod: p } = await ask(PERIOD_QUERY);
  session.period = p;
  const tz = session.customer.timezone;
  const [main, ...others] = p.spend;
  const currency = main?.currency ?? session.customer.currency;
  const cap = p.spendingCap;
  return el(
    'div',
    {},
    el('p', { class: 'muted' }, `${dateRange(p.start, p.end, tz)}${p.planCode ? ` · plan ${p.planCode}` : ''}`),
    el(
      'dl',
      { class: 'figures small' },
      figure('Spent so far', money(main?.charged ?? '0', currency, 4), { 'data-testid': 'period-spend' }),
      figure('Projected by period end', money(main?.projected ?? '0', currency), { 'data-testid': 'period-projected' }),
      cap ? figure('Spending cap', `${money(cap.used, cap.currency)} of ${money(cap.cap, cap.currency)}`) : null,
    ),
    cap ? el('progress', { max: cap.cap, value: cap.used, 'aria-label': 'Spending cap used' }) : null,
    el('p', { class: 'muted' }, `${quantity(String(Number(p.elapsed) * 100))}% of the period has passed.`),
    others.map((s) => el('p', {}, `Also ${money(s.charged, s.currency)} in ${s.currency} (projected ${money(s.projected, s.currency)}).`)),
    p.topModels.length > 0
      ? el('div', {}, el('h3', {}, 'Top models'), el('ol', { class: 'top-models' }, p.topModels.map((m) => el('li', {}, el('span', {}, m.model), el('span', { class: 'num' }, money(m.charged, m.currency, 4))))))
      : null,
  );
}

/** Quantities of one meter across buckets: only sums and counts add up; MAX takes the largest. */
function combineQuantity(aggregation, values) {
  if (values.length === 1 || aggregation === 'SUM' || aggregation === 'COUNT') return addDecimals(...values);
  if (aggregation === 'MAX') return values.reduce((a, b) => (Number(b) > Number(a) ? b : a));
  return null;
}

export async function loadMeters(session, ask) {
  const from = session.period?.start ?? new Date(Date.now() - 30 * DAY_MS).toISOString();
  const { usage } = await ask(USAGE_QUERY, { from, to: new Date().toISOString(), granularity: 'MONTH', groupBy: { meter: true } });
  const byMeter = new Map();
  for (const g of usage.buckets.flatMap((b) => b.groups)) {
    const key = `${g.meterCode}|${g.currency}`;
    const row = byMeter.get(key) ?? { meter: g.meterCode, currency: g.currency, aggregation: g.aggregation, quantities: [], charges: [] };
    row.quantities.push(g.quantity ?? '0');
    row.charges.push(g.charged);
    byMeter.set(key, row);
  }
  const rows = [...byMeter.values()].sort((a, b) => a.meter.localeCompare(b.meter));
  if (rows.length === 0) return el('p', { class: 'muted' }, 'No usage in this period yet.');
  const head = ['Meter', 'Quantity', 'Charged'].map((h, i) => el('th', { scope: 'col', class: i > 0 ? 'num' : undefined }, h));
  const body = rows.map((r) =>
    el('tr', {}, el('th', { scope: 'row' }, r.meter), el('td', { class: 'num' }, quantity(combineQuantity(r.aggregation, r.quantities))), el('td', { class: 'num' }, money(addDecimals(...r.charges), r.currency, 4))),
  );
  return el('div', { class: 'scroll' }, el('table', {}, el('caption', { class: 'visually-hidden' }, 'Usage by meter this period'), el('thead', {}, el('tr', {}, head)), el('tbody', {}, body)));
}

export async function loadDaily(session, ask) {
  const to = new Date();
  const from = new Date(to.getTime() - DAYS * DAY_MS);
  const { usage } = await ask(USAGE_QUERY, { from: from.toISOString(), to: to.toISOString(), granularity: 'DAY', groupBy: { dimensions: ['model'] } });
  const currency = session.customer.currency;
  // The first bucket starts before `from` and holds only part of its day: leave it out.
  const buckets = usage.buckets.filter((b) => Date.parse(b.start) >= from.getTime());
  const modelOf = (g) => g.dimensions.find((d) => d.key === 'model')?.value ?? 'other';
  const groups = buckets.map((b) => b.groups.filter((g) => g.currency === currency));
  const models = [...new Set(groups.flat().map(modelOf))].sort();
  if (models.length === 0) return el('p', { class: 'muted' }, `No spend in the last ${DAYS} days.`);
  const series = models.map((name) => ({ name, amounts: groups.map((gs) => addDecimals(...gs.filter((g) => modelOf(g) === name).map((g) => g.charged))) }));
  const labels = buckets.map((b) => day(b.start, usage.timezone));
  const width = Math.max(280, document.getElementById('daily-body').clientWidth || 640);
  return stackedBarChart({ title: `Spend per day by model, ${labels[0]} to ${labels[labels.length - 1]}`, labels, series, currency, width });
}

/** Shows the spend pushed with a usage event at once, before the period is read again. */
export function showLiveSpend(session, update) {
  if (update.periodSpend === null || update.periodSpend === undefined || update.event.currency !== session.customer.currency) return;
  const text = money(update.periodSpend, update.event.currency, 4);
  const node = document.querySelector('[data-testid="period-spend"]');
  if (node) node.textContent = text;
  else document.getElementById('period-body').replaceChildren(el('dl', { class: 'figures small' }, figure('Spent so far', text, { 'data-testid': 'period-spend' })));
}
