// The customer dashboard: reads the token from the URL fragment (never sent to the server) or
// from this tab's sessionStorage, loads each section over HTTP and keeps them current over one
// WebSocket. Uses only the public GraphQL API and the usage export.
import { ApiError, openLive, query } from './api.js';
import { loadExplorer } from './explorer.js';
import { dateTime, el, setTimeZone } from './format.js';
import * as s from './sections.js';
import { loadSettings } from './settings.js';
import { loadMeters, loadModels, loadPeriod, showLiveSpend } from './usage.js';

const STORE_KEY = 'billing-dashboard';
const STATUS_TEXT = { idle: 'Not connected', connecting: 'Connecting…', live: 'Live', retrying: 'Reconnecting…', refused: 'Token refused' };
const $ = (id) => document.getElementById(id);

/** The open session: credentials, the customer, wallets by id, alerts shown, the socket. */
let session = null;

function readCredentials() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const token = hash.get('token');
  if (token) {
    const credentials = { token, customerId: hash.get('customer') ?? '' };
    sessionStorage.setItem(STORE_KEY, JSON.stringify(credentials));
    // Out of the address bar and the history, so it is not shared with a copied link.
    history.replaceState(null, '', location.pathname + location.search);
    return credentials;
  }
  try {
    return JSON.parse(sessionStorage.getItem(STORE_KEY) ?? 'null');
  } catch {
    return null;
  }
}

function setStatus(state) {
  const node = $('connection');
  node.dataset.state = state;
  node.textContent = STATUS_TEXT[state];
}

function showSignIn(message = '') {
  session?.live?.close();
  session = null;
  sessionStorage.removeItem(STORE_KEY);
  setStatus('idle');
  $('dashboard').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('title').textContent = 'Usage and billing';
  $('customer-line').textContent = '';
  showStanding(false);
  $('sign-in-error').textContent = message;
  $('token-input').focus();
}

/** Replaces a section's content. */
function fill(section, content) {
  const body = $(`${section}-body`);
  body.replaceChildren(content);
  body.removeAttribute('aria-busy');
}

/** Runs one section's loader; a failure shows in that section only. */
async function load(section, run) {
  try {
    await run();
  } catch (err) {
    if (err instanceof StaleAnswer || !session) return;
    if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') return showSignIn('The token was refused or has expired. Ask for a new link.');
    const missing = err instanceof ApiError && err.code === 'GRAPHQL_VALIDATION_FAILED';
    // A query this server does not offer is not asked again in this session.
    if (missing) session?.unavailable.add(section);
    fill(section, el('p', { class: 'muted' }, missing ? 'Not available on this server yet.' : `Could not load this section: ${err.message}`));
  }
}

/** Thrown when an answer arrives for a session that has since ended: it must not be shown. */
class StaleAnswer extends Error {}

/** A query for the session's customer. */
async function ask(document, variables = {}) {
  const owner = session;
  const data = await query(owner.token, document, { id: owner.customerId, ...variables });
  if (session !== owner) throw new StaleAnswer();
  return data;
}

function showWallets() {
  fill('balance', s.renderWallets([...session.wallets.values()]));
}

/** Applies a pushed balance; an update older than what is shown (lower sequence) is dropped. */
function applyBalance(update) {
  const wallet = session.wallets.get(update.walletId);
  if (!wallet) return void load('balance', refreshWallets);
  if (BigInt(update.sequence) < BigInt(wallet.sequence)) return;
  Object.assign(wallet, {
    balance: update.balance,
    available: update.available ?? wallet.available,
    held: update.held ?? wallet.held,
    sequence: update.sequence,
    last: update,
  });
  showWallets();
}

/** A suspended account says so above everything, with why; it goes once a payment reinstates it. */
function showStanding(suspended, reason) {
  const node = $('standing');
  node.hidden = !suspended;
  node.textContent = suspended ? `Usage is suspended${reason ? `: ${reason}` : ''}. Pay the open invoice to resume.` : '';
}

async function refreshWallets() {
  const wallets = (await ask(s.WALLETS_QUERY)).wallets.nodes;
  session.wallets = new Map(wallets.map((w) => [w.id, { ...w, last: session.wallets.get(w.id)?.last }]));
  showWallets();
}

async function loadAlerts() {
  const { alerts } = await ask(s.ALERTS_QUERY);
  session.alerts = alerts.nodes;
  fill('alerts', s.renderAlerts(session.alerts, session.customer.currency));
}

async function loadInvoices() {
  const { invoices } = await ask(s.INVOICES_QUERY);
  fill('invoices', s.renderInvoices(invoices.nodes, await invoiceLinks(invoices.nodes)));
}

async function loadUpcoming() {
  fill('upcoming', s.renderUpcoming((await ask(s.UPCOMING_QUERY)).upcomingInvoice));
}

async function loadCredits() {
  fill('credits', s.renderCredits((await ask(s.CREDITS_QUERY)).wallets.nodes));
}

/** The cap and thresholds; after a change, what depends on them is read again and the outcome said. */
async function loadSettingsSection() {
  fill('settings', await loadSettings(session, ask, async (message) => {
    const { customer } = await ask(s.CUSTOMER_QUERY);
    if (customer) session.customer = customer;
    await Promise.all([load('settings', loadSettingsSection), loadUsageSection('period')]);
    const status = $('settings-status');
    if (status) status.textContent = message;
  }));
}

/** Display names of meters and plans, the meters' dimensions and what the token may do; the page works on codes without them. */
async function loadContext() {
  try {
    const { viewer, meters, subscriptions } = await ask(s.CONTEXT_QUERY);
    session.viewer = viewer;
    session.meters = new Map(meters.nodes.map((m) => [m.code, m]));
    session.plans = new Map(subscriptions.nodes.map((x) => [x.plan.code, x.plan.name]));
  } catch (err) {
    if (err instanceof StaleAnswer) throw err;
    console.warn('display names unavailable', err.message);
  }
}

/** Signed links to each invoice's page and PDF (a browser opening them sends no token); none on failure. */
async function invoiceLinks(invoices) {
  if (invoices.length === 0) return new Map();
  const { document, variables } = s.invoiceLinksQuery(invoices.map((i) => i.id));
  try {
    const data = await ask(document, variables);
    return new Map(invoices.map((i, n) => [i.id, data[`l${n}`]]));
  } catch (err) {
    if (err instanceof StaleAnswer) throw err;
    console.warn('invoice links unavailable', err.message);
    return new Map();
  }
}

/** The explorer's form was applied: keep its state and draw it again. */
function exploreWith(state) {
  session.explorer = state;
  void loadUsageSection('explorer').then(() => $('explorer-form')?.querySelector('button[type="submit"]')?.focus());
}

const USAGE_LOADERS = { period: loadPeriod, meters: loadMeters, models: loadModels, explorer: (session, ask) => loadExplorer(session, ask, exploreWith) };
const loadUsageSection = (section) =>
  session.unavailable.has(section) ? Promise.resolve() : load(section, async () => fill(section, await USAGE_LOADERS[section](session, ask)));
/** The period first: the tables of this period start where it starts. */
const loadUsage = () => Promise.all([loadUsageSection('period').then(() => Promise.all([loadUsageSection('meters'), loadUsageSection('models')])), loadUsageSection('explorer')]);

let usageRefresh;
let detailRefresh;
let detailAt = 0;
/** The tables, the chart and the upcoming invoice read more than the period: they follow pushed events at most every five seconds. */
const DETAIL_MS = 5_000;

/** Reads again what usage changes; the explorer waits while its form has the focus, so no edit is lost. */
function refreshDetails() {
  detailAt = Date.now();
  void loadUsageSection('models');
  void load('credits', loadCredits);
  void load('upcoming', loadUpcoming);
  if (!$('explorer-body').contains(document.activeElement)) void loadUsageSection('explorer');
}

/** Usage figures follow pushed events: the period at most once a second and a half, the details less often. */
function refreshUsageSoon() {
  clearTimeout(usageRefresh);
  usageRefresh = setTimeout(() => {
    if (!session) return;
    void loadUsageSection('period').then(() => loadUsageSection('meters'));
    if (detailRefresh) return;
    detailRefresh = setTimeout(() => {
      detailRefresh = undefined;
      if (session) refreshDetails();
    }, Math.max(0, detailAt + DETAIL_MS - Date.now()));
  }, 1500);
}

function subscribeLive() {
  const owner = session;
  const watch = (document, onData) =>
    owner.live.subscribe(document, { id: owner.customerId }, (data, errors) => {
      if (session !== owner) return;
      if (errors?.length) console.warn('live update error', errors[0].message);
      else if (data) onData(data);
    });
  watch(s.BALANCE_SUBSCRIPTION, (data) => applyBalance(data.walletBalanceChanged));
  watch(s.USAGE_SUBSCRIPTION, (data) => {
    showLiveSpend(session, data.usageRecorded);
    refreshUsageSoon();
  });
  watch(s.STANDING_SUBSCRIPTION, (data) => showStanding(data.customerStandingChanged.status === 'SUSPENDED', data.customerStandingChanged.reason));
  watch(s.ALERTS_SUBSCRIPTION, (data) => {
    session.alerts = [data.alertTriggered, ...(session.alerts ?? [])].slice(0, 10);
    fill('alerts', s.renderAlerts(session.alerts, session.customer.currency));
  });
}

const SECTIONS = ['balance', 'period', 'upcoming', 'explorer', 'models', 'meters', 'credits', 'settings', 'alerts', 'invoices'];

/** A customer on a test clock: the page shows its time, which every "now" on it is. */
function showTestClock(clock) {
  const line = $('test-clock');
  line.hidden = !clock;
  line.textContent = clock ? `Test clock "${clock.name}": the time here is ${dateTime(clock.frozenTime)}, not the real time.` : '';
}

async function open(credentials) {
  session = { ...credentials, wallets: new Map(), unavailable: new Set() };
  $('sign-in').hidden = true;
  // Nothing of a previous session in this tab may show while the new one loads.
  for (const section of SECTIONS) {
    $(`${section}-body`).replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    $(`${section}-body`).setAttribute('aria-busy', 'true');
  }
  let customer;
  try {
    customer = (await ask(s.CUSTOMER_QUERY)).customer;
  } catch (err) {
    if (err instanceof StaleAnswer) return;
    const forbidden = err instanceof ApiError && (err.code === 'FORBIDDEN' || err.code === 'VALIDATION_FAILED');
    return showSignIn(forbidden ? 'This token cannot read that customer.' : err.message);
  }
  // The API answers another customer's id exactly as an unknown one (it discloses nothing).
  if (!customer) return showSignIn('This token cannot read that customer.');
  session.customer = customer;
  setTimeZone(customer.timezone);
  $('zone-name').textContent = customer.timezone;
  showStanding(!!customer.suspendedAt, customer.suspensionReason);
  session.wallets = new Map(customer.wallets.map((w) => [w.id, { ...w }]));
  $('title').textContent = customer.name;
  $('customer-line').textContent = `Account ${customer.externalId} · billed in ${customer.currency}`;
  showTestClock(customer.testClock);
  document.title = `${customer.name}: usage and billing`;
  $('dashboard').hidden = false;
  $('sign-out').hidden = false;
  showWallets();
  session.live = openLive(session.token, (state) => {
    setStatus(state);
    if (state === 'refused') showSignIn('The token was refused or has expired. Ask for a new link.');
  });
  subscribeLive();
  await loadContext();
  await Promise.all([
    loadUsage(),
    load('upcoming', loadUpcoming),
    load('credits', loadCredits),
    load('settings', loadSettingsSection),
    load('alerts', loadAlerts),
    load('invoices', loadInvoices),
  ]);
  document.body.dataset.ready = 'true';
}

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token-input').value.trim();
  const customerId = $('customer-input').value.trim();
  if (!token || !customerId) {
    $('sign-in-error').textContent = 'Enter both the access token and the customer id.';
    return;
  }
  $('token-input').value = '';
  sessionStorage.setItem(STORE_KEY, JSON.stringify({ token, customerId }));
  // The form disappears; keyboard and screen-reader users continue at the dashboard.
  void open({ token, customerId }).then(() => session && $('main').focus());
});
$('sign-out').addEventListener('click', () => showSignIn());

const credentials = readCredentials();
if (credentials?.token && credentials.customerId) void open(credentials);
else {
  showSignIn(credentials?.token ? 'The link has no customer id; enter it below.' : '');
  if (credentials?.token) $('token-input').value = credentials.token;
}
