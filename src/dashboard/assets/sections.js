// What each section asks the API for, and how it draws the answer. Each section loads on its
// own, so a query this server does not offer leaves only that section empty.
import { addDecimals, date, dateRange, dateTime, el, money, quantity } from './format.js';

export const CUSTOMER_QUERY = `query DashboardCustomer($id: ID!) {
  customer(id: $id) { id name externalId currency timezone spendingCap suspendedAt suspensionReason testClock { name frozenTime }
    wallets { id currency balance available held sequence limitMode } }
}`;

/** The credential's powers; meters' display names and dimensions; the plan's display name. */
export const CONTEXT_QUERY = `query DashboardContext($id: ID!) {
  viewer { canManage expiresAt }
  meters(first: 30) { nodes { code name aggregation property dimensions } }
  subscriptions(customerId: $id, first: 5) { nodes { status plan { code name } } }
}`;

export const WALLETS_QUERY = `query DashboardWallets($id: ID!) {
  wallets(customerId: $id, first: 5) { nodes { id currency balance available held sequence limitMode } }
}`;

export const BALANCE_SUBSCRIPTION = `subscription DashboardBalance($id: ID!) {
  walletBalanceChanged(customerId: $id) { walletId currency balance available held change cause sequence previousSequence at }
}`;

export const USAGE_SUBSCRIPTION = `subscription DashboardUsage($id: ID!) {
  usageRecorded(customerId: $id) { periodSpend periodStart event { currency } }
}`;

export const STANDING_SUBSCRIPTION = `subscription DashboardStanding($id: ID!) {
  customerStandingChanged(customerId: $id) { status reason at }
}`;

const ALERT_FIELDS = 'id name metric meterCode direction threshold value createdAt';
export const ALERTS_QUERY = `query DashboardAlerts($id: ID!) { alerts(customerId: $id, first: 10) { nodes { ${ALERT_FIELDS} } } }`;
export const ALERTS_SUBSCRIPTION = `subscription DashboardAlertFired($id: ID!) { alertTriggered(customerId: $id) { ${ALERT_FIELDS} } }`;

export const INVOICES_QUERY = `query DashboardInvoices($id: ID!) {
  invoices(customerId: $id, first: 12) { nodes { id number status periodStart periodEnd currency total amountDue } }
}`;

export const UPCOMING_QUERY = `query DashboardUpcoming($id: ID!) {
  upcomingInvoice(customerId: $id) {
    invoice { periodStart periodEnd currency subtotal tax total prepaid amountDue lines { kind description amount } taxRate { name percent inclusive } }
    projected { subtotal tax total amountDue }
  }
}`;

export const CREDITS_QUERY = `query DashboardCredits($id: ID!) {
  wallets(customerId: $id, first: 5) { nodes { id currency creditBlocks { id kind priority expiresAt granted remaining reason createdAt } } }
}`;

/** How long the dashboard's links to invoice documents last: they are fetched again with the list. */
const LINK_SECONDS = 3600;

/** One query for the signed links of several invoices: an alias per invoice (the API's alias limit is 30). */
export function invoiceLinksQuery(ids) {
  const vars = ids.map((_, i) => `$i${i}: ID!`).join(', ');
  const fields = ids.map((_, i) => `l${i}: invoiceLink(invoiceId: $i${i}, expiresInSeconds: ${LINK_SECONDS}) { html pdf }`).join(' ');
  return { document: `query DashboardInvoiceLinks(${vars}) { ${fields} }`, variables: Object.fromEntries(ids.map((id, i) => [`i${i}`, id])) };
}

const CAUSES = { USAGE: 'usage', TOP_UP: 'top-up', GRANT: 'credit grant', HOLD: 'hold', RELEASE: 'hold released', ADJUSTMENT: 'adjustment', SNAPSHOT: 'current state' };

/** One <dt>/<dd> pair of a figures list. */
export const figure = (label, value, attrs = {}) => el('div', {}, el('dt', {}, label), el('dd', attrs, value));

/** A table with a hidden caption, column headers (numeric ones right-aligned) and rows of cells; the first cell of a row is its header. */
export function table(caption, headers, rows, numericFrom = 1) {
  const head = headers.map((h, i) => el('th', { scope: 'col', class: i >= numericFrom ? 'num' : undefined }, h));
  const body = rows.map((cells) => el('tr', {}, cells.map((c, i) => (i === 0 ? el('th', { scope: 'row' }, c) : el('td', { class: i >= numericFrom ? 'num' : undefined }, c)))));
  return el('div', { class: 'scroll' }, el('table', {}, el('caption', { class: 'visually-hidden' }, caption), el('thead', {}, el('tr', {}, head)), el('tbody', {}, body)));
}

/** wallets: [{ id, currency, balance, available, held, last? }]. */
export function renderWallets(wallets) {
  if (wallets.length === 0) return el('p', {}, 'No wallet yet: usage is billed on your invoice.');
  return el(
    'div',
    { class: 'wallets' },
    wallets.map((w) =>
      el(
        'div',
        { class: 'wallet', 'data-wallet': w.id },
        wallets.length > 1 ? el('h3', {}, w.currency) : null,
        el(
          'dl',
          { class: 'figures' },
          figure('Balance', money(w.balance, w.currency), { 'data-testid': 'balance' }),
          figure('Available', money(w.available, w.currency), { 'data-testid': 'available' }),
          figure('Held', money(w.held, w.currency)),
        ),
        w.last && w.last.cause !== 'SNAPSHOT'
          ? el('p', { class: 'change muted' }, `Last change ${money(w.last.change, w.currency)} (${CAUSES[w.last.cause] ?? w.last.cause}) at ${dateTime(w.last.at)}`)
          : null,
      ),
    ),
  );
}

/** A threshold or value of an alert in its unit: percent, meter quantity or money. */
export function alertValue(alert, currency, field) {
  const value = alert[field];
  if (alert.metric.endsWith('_USED')) return `${quantity(value)}%`;
  if (alert.metric === 'METER_USAGE') return quantity(value);
  return money(value, alert.currency ?? currency);
}

/** alerts, newest first. */
export function renderAlerts(alerts, currency) {
  if (alerts.length === 0) return el('p', { class: 'muted' }, 'No alerts.');
  return el(
    'ol',
    { class: 'alerts' },
    alerts.map((a) =>
      el(
        'li',
        {},
        el('strong', {}, a.name),
        el('p', { class: 'muted' }, `${a.direction === 'BELOW' ? 'Fell to' : 'Reached'} ${alertValue(a, currency, 'value')} (threshold ${alertValue(a, currency, 'threshold')}) · `, el('time', { datetime: a.createdAt }, dateTime(a.createdAt))),
      ),
    ),
  );
}

/** The invoice's page and PDF, opened in a new tab with its signed links; nothing without them. */
function documentLinks(invoice, links) {
  if (!links) return null;
  const name = invoice.number ? `Invoice ${invoice.number}` : 'Draft invoice';
  const open = (href, text, label) => el('a', { href, target: '_blank', rel: 'noopener', 'aria-label': `${name}: ${label}`, 'data-testid': `invoice-${text.toLowerCase()}` }, text);
  return el('div', { class: 'doc-links nowrap' }, open(links.html, 'View', 'printable page'), ' · ', open(links.pdf, 'PDF', 'PDF'));
}

/** invoices, newest period first. links: invoice id -> { html, pdf } (signed), when the server offers them. */
export function renderInvoices(invoices, links = new Map()) {
  if (invoices.length === 0) return el('p', { class: 'muted' }, 'No invoices yet.');
  const rows = invoices.map((i) => [
    [el('span', { class: 'nowrap' }, i.number ?? 'Draft'), ' ', el('span', { class: 'badge' }, i.status.toLowerCase()), documentLinks(i, links.get(i.id))],
    dateRange(i.periodStart, i.periodEnd),
    money(i.total, i.currency),
    money(i.amountDue, i.currency),
  ]);
  return table('Invoices, newest first', ['Invoice', 'Period', 'Total', 'Due'], rows, 2);
}

const FEE_KINDS = new Set(['BASE_FEE', 'MINIMUM']);

/** The current period as an invoice if it closed now: usage, fees, tax and total, and the projection to the period's end. */
export function renderUpcoming(upcoming) {
  if (!upcoming) return el('p', { class: 'muted' }, 'No subscription: nothing will be invoiced.');
  const { invoice: i, projected: p } = upcoming;
  const sum = (kinds) => i.lines.filter((l) => kinds(l.kind)).map((l) => l.amount);
  const fees = sum((k) => FEE_KINDS.has(k));
  const usage = sum((k) => !FEE_KINDS.has(k) && k !== 'PREPAID');
  const add = (values) => addDecimals(...values);
  const tax = i.taxRate ? `Tax (${i.taxRate.name}, ${quantity(i.taxRate.percent)}%${i.taxRate.inclusive ? ', included' : ''})` : 'Tax';
  const rows = [
    ['Usage', money(add(usage), i.currency), null],
    ['Fees', money(add(fees), i.currency), null],
    [tax, money(i.tax, i.currency), money(p.tax, i.currency)],
    ['Total', money(i.total, i.currency), money(p.total, i.currency)],
    ['Paid from your balance and credits', money(i.prepaid, i.currency), null],
    ['Due', money(i.amountDue, i.currency), money(p.amountDue, i.currency)],
  ];
  return el(
    'div',
    {},
    el('p', { class: 'muted' }, `${dateRange(i.periodStart, i.periodEnd)} · an estimate, not a bill`),
    table('Upcoming invoice estimate', ['', 'So far', 'Projected'], rows.map((r) => [r[0], r[1], r[2] ?? '']), 1),
  );
}

/** Credit grants with what is left of them and when they expire; the main balance is in the balance card. */
export function renderCredits(wallets) {
  const grants = wallets.flatMap((w) => w.creditBlocks.filter((b) => b.kind !== 'MAIN').map((b) => ({ ...b, currency: w.currency })));
  if (grants.length === 0) return el('p', { class: 'muted' }, 'No credit grants.');
  const rows = grants.map((g) => [g.reason ?? 'Credit grant', money(g.remaining, g.currency), money(g.granted, g.currency), g.expiresAt ? el('time', { datetime: g.expiresAt }, date(g.expiresAt)) : 'Never']);
  return table('Credit grants, in the order they are used', ['Grant', 'Remaining', 'Granted', 'Expires'], rows, 1);
}
