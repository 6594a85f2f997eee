// Usage over time: a range of days, hour, day or month buckets, grouping and a filter by any
// dimension the meters declare. Draws spend per bucket as a chart, the totals of the range per
// meter and group as a table, and downloads the same figures as CSV from the export endpoint.
import { ApiError, downloadCsv } from './api.js';
import { stackedBarChart } from './chart.js';
import { addDecimals, day, dimensionLabel, el, hour, localDay, money, month, quantity, startOfLocalDay } from './format.js';
import { table } from './sections.js';
import { meterName, sessionNow, unitOf, USAGE_QUERY, usageTotals } from './usage.js';

const DAY_MS = 86_400_000;
const BUCKETS = { HOUR: 'Hour', DAY: 'Day', MONTH: 'Month' };
const LABELS = { HOUR: hour, DAY: day, MONTH: month };

/** The day after a local day, "2026-11-30" -> "2026-12-01". */
const nextDay = (text) => new Date(Date.parse(`${text}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);

/** The explorer's first state: the last 14 days by day, grouped by model when a meter declares it. */
export function initialExplorer(session) {
  const today = localDay(sessionNow(session));
  const from = new Date(Date.parse(`${today}T00:00:00Z`) - 13 * DAY_MS).toISOString().slice(0, 10);
  return { from, to: today, bucket: 'DAY', group: dimensionsOf(session).includes('model') ? 'model' : 'meter', filterKey: '', filterValue: '' };
}

/** Every dimension some meter declares, sorted. */
const dimensionsOf = (session) => [...new Set([...(session.meters?.values() ?? [])].flatMap((m) => m.dimensions))].sort();

/** The instants and API arguments of the explorer's state. */
function request(state) {
  const from = startOfLocalDay(state.from);
  const to = startOfLocalDay(nextDay(state.to));
  const filter = state.filterKey && state.filterValue ? [{ key: state.filterKey, values: [state.filterValue] }] : null;
  const groupBy = state.group === 'meter' ? { meter: true } : { dimensions: [state.group] };
  return { from, to, filter, groupBy };
}

const options = (pairs, selected) => pairs.map(([value, label]) => el('option', { value, selected: value === selected }, label));

/** The form: every control labelled; Enter or "Show" applies it, "Download CSV" exports what it shows. */
function controls(session, state) {
  const dims = dimensionsOf(session);
  const field = (id, label, control) => el('div', { class: 'field' }, el('label', { for: id }, label), control);
  return el(
    'form',
    { id: 'explorer-form', class: 'controls', 'aria-label': 'Usage range and grouping' },
    field('explorer-from', 'From', el('input', { id: 'explorer-from', name: 'from', type: 'date', value: state.from, required: true })),
    field('explorer-to', 'To', el('input', { id: 'explorer-to', name: 'to', type: 'date', value: state.to, required: true })),
    field('explorer-bucket', 'Bucket', el('select', { id: 'explorer-bucket', name: 'bucket' }, options(Object.entries(BUCKETS), state.bucket))),
    field('explorer-group', 'Group by', el('select', { id: 'explorer-group', name: 'group' }, options([['meter', 'Meter'], ...dims.map((d) => [d, dimensionLabel(d)])], state.group))),
    field('explorer-filter-key', 'Filter by', el('select', { id: 'explorer-filter-key', name: 'filterKey' }, options([['', 'Nothing'], ...dims.map((d) => [d, dimensionLabel(d)])], state.filterKey))),
    field('explorer-filter-value', 'Value', el('input', { id: 'explorer-filter-value', name: 'filterValue', type: 'text', value: state.filterValue, autocomplete: 'off', spellcheck: 'false' })),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Show'), el('button', { type: 'button', id: 'explorer-csv', class: 'secondary' }, 'Download CSV')),
  );
}

/** Reads the form into a new state; null (with a message shown) when the range is not a range. */
function readForm(form) {
  const data = Object.fromEntries(new FormData(form));
  const state = { from: data.from, to: data.to, bucket: data.bucket, group: data.group, filterKey: data.filterKey, filterValue: String(data.filterValue ?? '').trim() };
  if (!state.from || !state.to || state.from > state.to) return null;
  return state;
}

/** The chart of spend per bucket by group, in the customer's currency. */
async function chart(session, ask, state) {
  const { from, to, filter, groupBy } = request(state);
  const { usage } = await ask(USAGE_QUERY, { from: from.toISOString(), to: to.toISOString(), granularity: state.bucket, groupBy, filter });
  const currency = session.customer.currency;
  const nameOf = (g) => (state.group === 'meter' ? meterName(session, g.meterCode) : (g.dimensions[0]?.value ?? '(none)'));
  const groups = usage.buckets.map((b) => b.groups.filter((g) => g.currency === currency));
  const names = [...new Set(groups.flat().map(nameOf))].sort();
  if (names.length === 0) return el('p', { class: 'muted' }, 'No spend in this range.');
  const series = names.map((name) => ({ name, amounts: groups.map((gs) => addDecimals(...gs.filter((g) => nameOf(g) === name).map((g) => g.charged))) }));
  const labels = usage.buckets.map((b) => LABELS[state.bucket](b.start));
  const width = Math.max(280, document.getElementById('explorer-body').clientWidth || 640);
  const groupLabel = state.group === 'meter' ? 'Meters' : dimensionLabel(state.group);
  return stackedBarChart({ title: `Spend per ${BUCKETS[state.bucket].toLowerCase()} by ${groupLabel.toLowerCase()}, ${labels[0]} to ${labels[labels.length - 1]}`, labels, series, currency, width, groupLabel, bucketLabel: BUCKETS[state.bucket] });
}

/** The range's totals per meter and group: quantity (tokens…), requests and charge. */
async function totals(session, ask, state) {
  const { from, to, filter } = request(state);
  const groupBy = state.group === 'meter' ? { meter: true } : { meter: true, dimensions: [state.group] };
  const rows = (await usageTotals(ask, from, to, groupBy, filter)).sort((a, b) => meterName(session, a.meterCode).localeCompare(meterName(session, b.meterCode)) || String(a.values[0]).localeCompare(String(b.values[0])));
  if (rows.length === 0) return null;
  const byGroup = state.group !== 'meter';
  // Grouped by a dimension of one meter only: the meter heads the quantity column instead of a column of its own.
  const single = byGroup && new Set(rows.map((r) => r.meterCode)).size === 1;
  const amount = (r) => (single ? quantity(r.quantity) : `${quantity(r.quantity)} ${unitOf(session, r.meterCode)}`.trim());
  const cells = rows.map((r) => [...(single ? [] : [meterName(session, r.meterCode)]), ...(byGroup ? [r.values[0] ?? '—'] : []), amount(r), quantity(r.events), money(r.charged, r.currency)]);
  const headers = [...(single ? [] : ['Meter']), ...(byGroup ? [dimensionLabel(state.group)] : []), single ? meterName(session, rows[0].meterCode) : 'Quantity', 'Requests', 'Charged'];
  return table('Totals of the range', headers, cells, single || !byGroup ? 1 : 2);
}

/** The export URL of what the explorer shows: the same range, buckets, grouping (with the meter) and filter. */
export function exportPath(session, state) {
  const { from, to, filter } = request(state);
  const q = new URLSearchParams({ customerId: session.customerId, from: from.toISOString(), to: to.toISOString(), bucket: state.bucket, groupBy: state.group === 'meter' ? 'meter' : `meter,${state.group}` });
  for (const f of filter ?? []) q.append('filter', `${f.key}:${f.values[0]}`);
  return `/v1/usage/export?${q}`;
}

/** Codes a different choice in the form can cure: said in place, below the controls, which stay. */
const CURABLE = new Set(['QUERY_TOO_COMPLEX', 'VALIDATION_FAILED', 'RATE_LIMITED']);

function shown(drawing) {
  return drawing.catch((err) => {
    if (!(err instanceof ApiError) || !CURABLE.has(err.code)) throw err;
    const hint = err.code === 'QUERY_TOO_COMPLEX' ? ' Choose a shorter range, larger buckets or another grouping.' : '';
    return el('p', { class: 'error', role: 'alert' }, `${err.message}.${hint}`);
  });
}

/**
 * The section: controls, then the chart and the totals. onChange(state) is called when the form
 * is applied, so that the caller keeps the state and redraws; a failed download shows in place.
 */
export async function loadExplorer(session, ask, onChange) {
  const state = session.explorer ?? (session.explorer = initialExplorer(session));
  const form = controls(session, state);
  const status = el('p', { id: 'explorer-status', class: 'muted', role: 'status' });
  const [drawing, sums] = await Promise.all([shown(chart(session, ask, state)), shown(totals(session, ask, state))]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = readForm(form);
    if (!next) return void (status.textContent = 'Choose a start day on or before the end day.');
    onChange(next);
  });
  form.querySelector('#explorer-csv').addEventListener('click', async () => {
    status.textContent = 'Preparing the CSV…';
    try {
      await downloadCsv(session.token, exportPath(session, state), `usage-${state.from}-to-${state.to}.csv`);
      status.textContent = 'CSV downloaded.';
    } catch (err) {
      status.textContent = `Could not download the CSV: ${err.message}`;
    }
  });
  return el('div', {}, form, status, drawing, sums ? el('div', {}, el('h3', {}, 'Totals of the range'), sums) : null);
}
