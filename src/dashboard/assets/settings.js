// The spending cap and alert thresholds: shown to every token, changed only with a token minted
// with the MANAGE scope (the API refuses the others; the page does not offer them the forms).
import { ApiError } from './api.js';
import { el, money, quantity } from './format.js';
import { alertValue } from './sections.js';

export const DEFINITIONS_QUERY = `query DashboardAlertDefinitions($id: ID!) {
  alertDefinitions(customerId: $id, first: 10) { nodes { id name metric direction threshold currency meterCode walletId enabled rechargeOnFailure } }
}`;
const SET_CAP = `mutation DashboardSetCap($input: SetCustomerSpendingCapInput!) { setCustomerSpendingCap(input: $input) { customer { spendingCap } } }`;
const CREATE_ALERT = `mutation DashboardCreateAlert($input: CreateAlertDefinitionInput!) { createAlertDefinition(input: $input) { definition { id } } }`;
const DELETE_ALERT = `mutation DashboardDeleteAlert($input: DeleteAlertDefinitionInput!) { deleteAlertDefinition(input: $input) { id } }`;

/** The thresholds a customer may watch from here, and how each is phrased. */
const METRICS = {
  PERIOD_SPEND: 'Spend this period reaches',
  SPENDING_CAP_USED: 'Share of the spending cap used reaches (%)',
  WALLET_BALANCE: 'Balance falls below',
};

const DECIMAL = /^\d{1,15}(\.\d{1,9})?$/;

/**
 * The section. run(document, variables) runs a query or mutation for the session's customer;
 * changed() is called after a successful change, to reload what depends on it.
 */
export async function loadSettings(session, run, changed) {
  const alertDefinitions = (await run(DEFINITIONS_QUERY)).alertDefinitions.nodes;
  const currency = session.customer.currency;
  const cap = session.customer.spendingCap;
  const status = el('p', { id: 'settings-status', class: 'muted', role: 'status' });
  const manage = !!session.viewer?.canManage;
  const act = async (what, document, input) => {
    status.className = 'muted';
    status.textContent = `${what}…`;
    try {
      await run(document, { input });
      await changed(`${what}: done.`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      status.className = 'error';
      status.setAttribute('role', 'alert');
      status.textContent = `${what} failed: ${err.message}`;
    }
  };

  const capLine = el('p', { 'data-testid': 'settings-cap' }, cap === null ? 'No spending cap.' : `Spending cap: ${money(cap, currency)} per billing period.`);
  const list = definitionsList(alertDefinitions, currency, manage ? (d) => act(`Deleting “${d.name}”`, DELETE_ALERT, { id: d.id }) : null);
  if (!manage) {
    return el('div', {}, capLine, el('h3', {}, 'Alert thresholds'), list, el('p', { class: 'muted' }, 'This link can only view. Ask your provider for a link with manage access to change the cap and alerts.'));
  }

  const capForm = el(
    'form',
    { id: 'cap-form', class: 'inline-form', 'aria-label': 'Spending cap' },
    el('div', { class: 'field' }, el('label', { for: 'cap-input' }, `Spending cap per period (${currency})`), el('input', { id: 'cap-input', name: 'cap', type: 'text', inputmode: 'decimal', autocomplete: 'off', value: cap ?? '', 'aria-describedby': 'settings-status' })),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save cap'), cap === null ? null : el('button', { type: 'button', id: 'cap-remove', class: 'secondary' }, 'Remove cap')),
  );
  capForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = String(new FormData(capForm).get('cap') ?? '').trim();
    if (!DECIMAL.test(value)) return void showProblem(status, 'Enter the cap as an amount, such as 250 or 99.50.');
    void act('Saving the spending cap', SET_CAP, { customerId: session.customerId, spendingCap: value });
  });
  capForm.querySelector('#cap-remove')?.addEventListener('click', () => act('Removing the spending cap', SET_CAP, { customerId: session.customerId, spendingCap: null }));

  const wallet = [...session.wallets.values()].find((w) => w.currency === currency);
  const metrics = Object.entries(METRICS).filter(([m]) => (m === 'WALLET_BALANCE' ? !!wallet : m === 'SPENDING_CAP_USED' ? cap !== null : true));
  const alertForm = el(
    'form',
    { id: 'alert-form', class: 'inline-form', 'aria-label': 'New alert threshold' },
    el('div', { class: 'field' }, el('label', { for: 'alert-metric' }, 'Alert me when'), el('select', { id: 'alert-metric', name: 'metric' }, metrics.map(([value, label]) => el('option', { value }, label)))),
    el('div', { class: 'field' }, el('label', { for: 'alert-threshold' }, 'Threshold'), el('input', { id: 'alert-threshold', name: 'threshold', type: 'text', inputmode: 'decimal', autocomplete: 'off', required: true, 'aria-describedby': 'settings-status' })),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Add alert')),
  );
  alertForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(alertForm));
    const threshold = String(data.threshold ?? '').trim();
    if (!DECIMAL.test(threshold)) return void showProblem(status, 'Enter the threshold as a number, such as 50 or 80.');
    const target = data.metric === 'WALLET_BALANCE' ? { walletId: wallet.id } : { customerId: session.customerId };
    void act('Adding the alert', CREATE_ALERT, { metric: data.metric, threshold, ...target });
  });

  return el('div', {}, capLine, capForm, el('h3', {}, 'Alert thresholds'), list, alertForm, status);
}

function showProblem(status, message) {
  status.className = 'error';
  status.setAttribute('role', 'alert');
  status.textContent = message;
}

/** The definitions, each with a delete button when onDelete is given (an auto-recharge only an ADMIN key changes). */
function definitionsList(definitions, currency, onDelete) {
  if (definitions.length === 0) return el('p', { class: 'muted', 'data-testid': 'no-thresholds' }, 'No alert thresholds.');
  return el(
    'ul',
    { class: 'thresholds' },
    definitions.map((d) => {
      const what = d.metric.endsWith('_USED') ? `${quantity(d.threshold)}%` : alertValue(d, currency, 'threshold');
      const button = onDelete && !d.rechargeOnFailure ? el('button', { type: 'button', class: 'secondary small', 'aria-label': `Delete alert “${d.name}”` }, 'Delete') : null;
      button?.addEventListener('click', () => onDelete(d));
      return el('li', {}, el('span', {}, el('strong', {}, d.name), ' ', el('span', { class: 'muted' }, `(${what}${d.enabled ? '' : ', paused'})`)), button);
    }),
  );
}
