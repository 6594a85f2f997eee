import { BillingClient } from '../../client/index.js';
import { BillingError } from '../../client/errors.js';
import { addMonths, fromLocal, toLocal } from '../shared/time-zones.js';
import {
  AdvanceTestClock,
  CreateAlertDefinition,
  CreateCustomer,
  CreateCustomerToken,
  CreateMeter,
  CreatePlan,
  CreateSubscription,
  CreateTaxRate,
  CreateTestClock,
  CreateWallet,
  DemoApi,
  GrantCredits,
  InvoiceLinkQuery,
  InvoiceQuery,
  MeterQuery,
  PlanQuery,
  TopUpWallet,
  type DemoInvoice,
} from './demo.api.js';
import { seededRandom, usageOfDay, type DemoDay, type DemoEvent } from './demo.usage.js';

/**
 * The demo's story, told through the public GraphQL API with an ADMIN key: a catalogue (meters,
 * a tax rate, a plan priced by the shipped rule sets), a customer on a test clock with a
 * prepaid wallet, a credit grant and alerts, a month of usage recorded day by day as the clock
 * advances, and the clock moved past the period's end and grace so that its invoice finalizes.
 */

export const TIME_ZONE = 'Europe/Berlin';
const PLAN_CODE = 'demo-ai-team';
const TAX_RATE_CODE = 'demo-vat-de';
/** Lifetime of the dashboard token: the longest a customer token may live. */
const TOKEN_TTL_SECONDS = 86_400;
const INVOICE_LINK_TTL_SECONDS = 7 * 86_400;

export interface DemoOptions {
  /** The server's origin, `http://127.0.0.1:4000`. */
  origin: string;
  adminKey: string;
  /** Days of the month to record usage for (the period closes whatever the number). */
  days: number;
  /** The server's INVOICE_GRACE_MS: the clock must pass the period's end by more. */
  graceMs: number;
  /** Unique per run: names the customer and its clock, and prefixes idempotency keys. */
  runId: string;
  /** Progress lines (stderr). */
  say: (line: string) => void;
}

export interface DemoResult {
  customerId: string;
  customerName: string;
  externalId: string;
  customerToken: string;
  tokenExpiresAt: string;
  invoice: DemoInvoice;
  invoiceHtml: string;
  invoicePdf: string;
  events: { sent: number; accepted: number; refused: Record<string, number> };
}

const METERS = [
  { code: 'llm_tokens', name: 'LLM tokens', aggregation: 'SUM', property: 'tokens', dimensions: ['model', 'tokenType', 'project'] },
  { code: 'gpu_minutes', name: 'GPU minutes', aggregation: 'SUM', property: 'minutes', dimensions: ['project'] },
  { code: 'seats', name: 'Team seats', aggregation: 'RECURRING', property: 'seats', dimensions: [] },
];

/** Something that may exist from an earlier run: created unless it does. */
async function unlessExists(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!(err instanceof BillingError && err.code === 'ALREADY_EXISTS')) throw err;
  }
}

/**
 * Meters, tax rate and plan: shared by every demo customer, so a second run reuses them. Returns
 * the dimensions each meter declares (a meter made earlier by someone else may declare fewer).
 */
async function ensureCatalog(api: DemoApi): Promise<Map<string, string[]>> {
  const declared = new Map<string, string[]>();
  for (const meter of METERS) {
    const found = (await api.request(MeterQuery, { code: meter.code })).meter;
    if (found) declared.set(meter.code, found.dimensions);
    else declared.set(meter.code, (await api.request(CreateMeter, { input: meter })).createMeter.meter.dimensions);
  }
  await unlessExists(() => api.request(CreateTaxRate, { input: { code: TAX_RATE_CODE, name: 'VAT (DE) 19%', percent: '19', inclusive: false } }));
  if (!(await api.request(PlanQuery, { code: PLAN_CODE })).plan) {
    await unlessExists(() =>
      api.request(CreatePlan, {
        input: {
          code: PLAN_CODE,
          name: 'AI Team',
          description: 'Model tokens at list prices per model, GPU minutes and team seats, with a monthly platform fee.',
          currency: 'USD',
          baseFee: '49.00',
          billingInterval: 'MONTHLY',
          charges: [
            { meterCode: 'llm_tokens', ruleSetKey: 'ai-price-book', displayName: 'Model tokens', groupBy: ['model', 'tokenType'] },
            { meterCode: 'gpu_minutes', ruleSetKey: 'platform-plan', displayName: 'GPU minutes' },
            { meterCode: 'seats', ruleSetKey: 'platform-plan', displayName: 'Team seats' },
          ],
        },
      }),
    );
  }
  return declared;
}

interface DemoCustomer {
  id: string;
  externalId: string;
  name: string;
  walletId: string;
}

/** The customer on the clock, subscribed from the period's start, with money and alerts. */
async function createCustomer(api: DemoApi, runId: string, testClockId: string, periodStart: Date): Promise<DemoCustomer> {
  const externalId = `demo-${runId}`;
  const name = 'Nordlicht Labs GmbH';
  const { customer } = (
    await api.request(CreateCustomer, {
      input: {
        externalId,
        name,
        email: 'billing@nordlicht-labs.example',
        currency: 'USD',
        timezone: TIME_ZONE,
        taxRateCode: TAX_RATE_CODE,
        paymentTermsDays: 14,
        metadata: { demo: 'true' },
        billingDetails: {
          legalName: 'Nordlicht Labs GmbH',
          email: 'ap@nordlicht-labs.example',
          taxId: 'DE312345678',
          address: { line1: 'Torstraße 109', postalCode: '10119', city: 'Berlin', country: 'DE' },
        },
        testClockId,
      },
    })
  ).createCustomer;
  await api.request(CreateSubscription, { input: { customerId: customer.id, planCode: PLAN_CODE, startsAt: periodStart.toISOString(), baseFeeTiming: 'ARREARS' } });
  const walletId = (await api.request(CreateWallet, { input: { customerId: customer.id, currency: 'USD' } })).createWallet.wallet.id;
  await api.request(TopUpWallet, { input: { walletId, amount: '500.00', idempotencyKey: `${externalId}-top-up`, description: 'Prepaid balance', reference: 'demo' } });
  // Grants are spent before the balance: this one pays most of the month and expires later.
  const expiresAt = addMonthsTo(periodStart, 3);
  await api.request(GrantCredits, { input: { walletId, amount: '400.00', expiresAt: expiresAt.toISOString(), idempotencyKey: `${externalId}-startup-credit`, reason: 'Startup program credit' } });
  const alerts = [
    { customerId: customer.id, metric: 'PERIOD_SPEND', direction: 'ABOVE', threshold: '100.00', every: '100.00', name: 'Spend this month' },
    { customerId: customer.id, metric: 'METER_USAGE', meterCode: 'llm_tokens', direction: 'ABOVE', threshold: '10000000', name: '10M tokens this month' },
    { walletId, metric: 'WALLET_BALANCE', direction: 'BELOW', threshold: '150.00', name: 'Balance running low' },
  ];
  for (const input of alerts) await api.request(CreateAlertDefinition, { input });
  return { id: customer.id, externalId, name, walletId };
}

/** The same local time `months` later in the demo's time zone. */
function addMonthsTo(at: Date, months: number): Date {
  const l = toLocal(at, TIME_ZONE);
  const d = addMonths(l.year, l.month, l.day, months);
  return fromLocal(d.year, d.month, d.day, TIME_ZONE, l.hour, l.minute, l.second);
}

/** The local days of the month that starts at `periodStart`. */
function daysOf(periodStart: Date, periodEnd: Date): DemoDay[] {
  const days: DemoDay[] = [];
  const first = toLocal(periodStart, TIME_ZONE);
  for (let index = 0; ; index++) {
    const start = fromLocal(first.year, first.month, first.day + index, TIME_ZONE);
    if (start.getTime() >= periodEnd.getTime()) return days;
    const end = fromLocal(first.year, first.month, first.day + index + 1, TIME_ZONE);
    days.push({ index, start, end, weekday: toLocal(start, TIME_ZONE).weekday });
  }
}

/** Drops dimensions the meter does not declare (a meter kept from elsewhere may declare fewer). */
function fit(event: DemoEvent, declared: Map<string, string[]>): DemoEvent {
  const keys = declared.get(event.meterCode) ?? [];
  return { ...event, dimensions: Object.fromEntries(Object.entries(event.dimensions).filter(([k]) => keys.includes(k))) };
}

const LOCAL_DAY = new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, weekday: 'short', day: 'numeric', month: 'short' });
const LOCAL_MONTH = new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, month: 'long', year: 'numeric' });

/** This calendar month in the demo's time zone (the shipped rule sets price 2026 onwards). */
function currentMonth(): { periodStart: Date; periodEnd: Date } {
  const now = toLocal(new Date(), TIME_ZONE);
  const next = addMonths(now.year, now.month, 1, 1);
  return { periodStart: fromLocal(now.year, now.month, 1, TIME_ZONE), periodEnd: fromLocal(next.year, next.month, 1, TIME_ZONE) };
}

type EventTally = DemoResult['events'];

/**
 * Day by day: the clock first moves to the day's last second, then the day's events (stamped
 * within the day) go out in batches through the integrator client, which retries with the same
 * idempotency keys.
 */
async function recordDays(api: DemoApi, usage: BillingClient, clockId: string, customerId: string, days: Array<{ day: DemoDay; events: DemoEvent[] }>, say: DemoOptions['say']): Promise<EventTally> {
  const tally: EventTally = { sent: 0, accepted: 0, refused: {} };
  for (const { day, events } of days) {
    await api.request(AdvanceTestClock, { input: { testClockId: clockId, frozenTime: new Date(day.end.getTime() - 1000).toISOString() } });
    const results = await Promise.all(events.map((e) => usage.recordUsage({ ...e, customerId })));
    const accepted = results.filter((r) => r.status === 'ACCEPTED').length;
    for (const r of results) {
      if (r.status === 'ACCEPTED') continue;
      const code = r.refusal?.code ?? r.status;
      tally.refused[code] = (tally.refused[code] ?? 0) + 1;
    }
    tally.sent += events.length;
    tally.accepted += accepted;
    say(`  ${LOCAL_DAY.format(day.start).padEnd(12)} ${String(events.length).padStart(4)} events, ${accepted} accepted`);
  }
  return tally;
}

/** Moves the clock past the period's end and its grace; returns the period's finalized invoice. */
async function closePeriod(api: DemoApi, clockId: string, customerId: string, period: { periodStart: Date; periodEnd: Date }, graceMs: number): Promise<DemoInvoice> {
  const closeAt = new Date(period.periodEnd.getTime() + graceMs + 60_000);
  const { finalizedInvoiceIds } = (await api.request(AdvanceTestClock, { input: { testClockId: clockId, frozenTime: closeAt.toISOString() } })).advanceTestClock;
  const finalized = await Promise.all(finalizedInvoiceIds.map(async (id) => (await api.request(InvoiceQuery, { id })).invoice));
  const invoice = finalized.find((i) => i.customerId === customerId && i.kind === 'PERIOD' && Date.parse(i.periodStart) === period.periodStart.getTime());
  if (!invoice) throw new Error(`advancing the test clock to ${closeAt.toISOString()} finalized no invoice for the period (finalized: ${finalizedInvoiceIds.join(', ') || 'none'})`);
  return invoice;
}

/** Runs the whole story; returns what the demo prints. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { say } = options;
  const graphqlUrl = `${options.origin}/graphql`;
  const api = new DemoApi(graphqlUrl, options.adminKey);
  const declared = await ensureCatalog(api);
  const period = currentMonth();
  const clock = (await api.request(CreateTestClock, { input: { name: `demo ${options.runId}`, frozenTime: period.periodStart.toISOString() } })).createTestClock.testClock;
  const customer = await createCustomer(api, options.runId, clock.id, period.periodStart);
  say(`Customer "${customer.name}" (${customer.externalId}) on test clock "${clock.name}", plan ${PLAN_CODE}, period ${LOCAL_MONTH.format(period.periodStart)}.`);

  const random = seededRandom(20_261_101);
  const days = daysOf(period.periodStart, period.periodEnd).slice(0, options.days);
  const events = days.map((day) => ({ day, events: usageOfDay(day, customer.externalId, random).map((e) => fit(e, declared)) }));
  const usage = new BillingClient({ url: graphqlUrl, apiKey: options.adminKey, batch: { maxSize: 500, maxDelayMs: 5 } });
  const tally = await recordDays(api, usage, clock.id, customer.id, events, say).finally(() => usage.close());

  const invoice = await closePeriod(api, clock.id, customer.id, period, options.graceMs);
  say(`Clock past the period's end and grace: invoice ${invoice.number} finalized, total ${invoice.total} ${invoice.currency}.`);
  const link = (await api.request(InvoiceLinkQuery, { invoiceId: invoice.id, expiresInSeconds: INVOICE_LINK_TTL_SECONDS })).invoiceLink;
  const token = (await api.request(CreateCustomerToken, { input: { customerId: customer.id, ttlSeconds: TOKEN_TTL_SECONDS, scopes: ['READ', 'MANAGE'] } })).createCustomerToken;
  const absolute = (href: string) => new URL(href, options.origin).toString();
  return {
    customerId: customer.id,
    customerName: customer.name,
    externalId: customer.externalId,
    customerToken: token.token,
    tokenExpiresAt: token.customerToken.expiresAt,
    invoice,
    invoiceHtml: absolute(link.html),
    invoicePdf: absolute(link.pdf),
    events: tally,
  };
}
