// What each section asks the API for, and how it draws the answer. Each section loads on its
// own, so a query this server does not offer leaves only that section empty.
import { dateRange, dateTime, el, money, quantity } from './format.js';

export const CUSTOMER_QUERY = `query DashboardCustomer($id: ID!) {
  customer(id: $id) { id name externalId currency timezone spendingCap suspendedAt suspensionReason
    wallets { id currency balance available held sequence limitMode } }
}`;

export const WALLETS_QUERY = `query DashboardWallets($id: ID!) {
  wallets(customerId: $id) { id currency balance available held sequence limitMode }
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
          figure('Balance', money(w.balance, w.currency, 4), { 'data-testid': 'balance' }),
          figure('Available', money(w.available, w.currency, 4), { 'data-testid': 'available' }),
          figure('Held', money(w.held, w.currency, 4)),
        ),
        w.last && w.last.cause !== 'SNAPSHOT'
          ? el('p', { class: 'change muted' }, `Last change ${money(w.last.change, w.currency, 4)} (${CAUSES[w.last.cause] ?? w.last.cause}) at ${dateTime(w.last.at)}`)
          : null,
      ),
    ),
  );
}

function alertValue(alert, currency, field) {
  const value = alert[field];
  if (alert.metric.endsWith('_USED')) return `${quantity(value)}%`;
  if (alert.metric === 'METER_USAGE') return quantity(value);
  return money(value, currency, 4);
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

/**
 * invoices, newest period first; their periods are shown in the customer's time zone. links:
 * invoice id -> { html, pdf } (signed), when the server offers them.
 */
export function renderInvoices(invoices, timeZone, links = new Map()) {
  if (invoices.length === 0) return el('p', { class: 'muted' }, 'No invoices yet.');
  const head = ['Invoice', 'Period', 'Total', 'Due'].map((h, i) => el('th', { scope: 'col', class: i > 1 ? 'num' : undefined }, h));
  return el(
    'div',
    { class: 'scroll' },
    el(
      'table',
      {},
      el('caption', { class: 'visually-hidden' }, 'Invoices, newest first'),
      el('thead', {}, el('tr', {}, head)),
      el(
        'tbody',
        {},
        invoices.map((i) =>
          el(
            'tr',
            {},
            el('th', { scope: 'row' }, el('span', { class: 'nowrap' }, i.number ?? 'Draft'), ' ', el('span', { class: 'badge' }, i.status.toLowerCase()), documentLinks(i, links.get(i.id))),
            el('td', {}, dateRange(i.periodStart, i.periodEnd, timeZone)),
            el('td', { class: 'num' }, money(i.total, i.currency)),
            el('td', { class: 'num' }, money(i.amountDue, i.currency)),
          ),
        ),
      ),
    ),
  );
}
