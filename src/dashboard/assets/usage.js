// The usage sections: the current period, usage by meter and daily spend by model. Each loader
// returns the section's content; the caller puts it in place.
import { el, money } from './format.js';
import { renderDaily, renderMeters, renderPeriod } from './sections.js';

const DAYS = 14;

const PERIOD_QUERY = `query DashboardPeriod($id: ID!) {
  currentPeriod(customerId: $id) { periodStart periodEnd currency spend projectedSpend }
}`;

const DAILY_QUERY = `query DashboardDaily($id: ID!, $from: DateTimeISO!, $to: DateTimeISO!) {
  usage(customerId: $id, from: $from, to: $to, granularity: DAY, groupBy: [MODEL]) { rows { start model amount currency } }
}`;

const METERS_QUERY = `query DashboardMeters($id: ID!, $from: DateTimeISO!, $to: DateTimeISO!) {
  usage(customerId: $id, from: $from, to: $to, groupBy: [METER]) { rows { meterCode quantity amount currency } }
}`;

/** The last DAYS calendar days (UTC), oldest first, as "YYYY-MM-DD". */
function lastDays(now = new Date()) {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: DAYS }, (_, i) => new Date(today - (DAYS - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

export async function loadPeriod(session, ask) {
  const { currentPeriod } = await ask(PERIOD_QUERY);
  session.period = currentPeriod;
  return renderPeriod(currentPeriod, session.customer.currency);
}

export async function loadMeters(session, ask) {
  const from = session.period?.periodStart ?? new Date(Date.now() - 30 * 86_400_000).toISOString();
  const { usage } = await ask(METERS_QUERY, { from, to: new Date().toISOString() });
  return renderMeters(usage.rows.map((r) => ({ meter: r.meterCode, quantity: r.quantity, amount: r.amount, currency: r.currency })));
}

export async function loadDaily(session, ask) {
  const days = lastDays();
  const { usage } = await ask(DAILY_QUERY, { from: `${days[0]}T00:00:00Z`, to: new Date().toISOString() });
  const points = usage.rows.map((r) => ({ day: String(r.start).slice(0, 10), model: r.model ?? 'other', amount: r.amount }));
  return renderDaily(points, days, session.customer.currency);
}

/** Shows the spend pushed with a usage event at once, before the period is re-read. */
export function showLiveSpend(session, update) {
  if (update.periodSpend === null || update.periodSpend === undefined) return;
  const node = document.querySelector('[data-testid="period-spend"]');
  const text = money(update.periodSpend, update.event.currency);
  if (node) node.textContent = text;
  else document.getElementById('period-body').replaceChildren(el('dl', { class: 'figures small' }, el('div', {}, el('dt', {}, 'Spent so far'), el('dd', { 'data-testid': 'period-spend' }, text))));
}
