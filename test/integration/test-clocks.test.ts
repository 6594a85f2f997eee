import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdvanceTestClockDocument,
  ClockAlertsDocument,
  ClockCustomersDocument,
  ClockInvoicesDocument,
  ClockRecordUsageDocument,
  ClockUpcomingDocument,
  CreateAlertDefinitionDocument,
  CreateCustomerDocument,
  CreateSubscriptionDocument,
  CreateTestClockDocument,
  MarginsDocument,
  NodeByIdDocument,
  RecordPaymentAttemptDocument,
  TestClocksDocument,
  UsageEventsDocument,
} from '../generated/graphql.js';
import { Role } from '../../src/modules/api-keys/principal.pure.js';
import { codesOf } from '../support/graphql-client.js';
import { gpt4oInput, setupCatalogue } from '../support/usage-fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Test clocks: a customer on a clock lives at the clock's time, in the past here (January 2026)
 * while the service runs on the real clock, so the live scheduler would close its periods at
 * once if it looked at them. Periods are calendar months in UTC; the grace period is one day.
 */
let t: TestApp;
let seq = 0;

beforeAll(async () => {
  t = await startTestApp();
  await setupCatalogue(t);
});
afterAll(async () => {
  await t?.close();
});

const JAN_5 = '2026-01-05T09:00:00.000Z';

async function clockWithCustomer(name: string) {
  const { testClock } = (await t.admin.ok(CreateTestClockDocument, { input: { name, frozenTime: JAN_5 } })).createTestClock;
  const externalId = `clocked-${process.pid}-${seq++}`;
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD', testClockId: testClock.id } })).createCustomer;
  const { subscription } = (await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: 'api' } })).createSubscription;
  return { clock: testClock, customerId: customer.id, externalId, subscription };
}

const advance = (testClockId: string, frozenTime: string) => t.admin.ok(AdvanceTestClockDocument, { input: { testClockId, frozenTime } }).then((r) => r.advanceTestClock);
const invoicesOf = async (customerId: string) => (await t.admin.ok(ClockInvoicesDocument, { customerId })).invoices.nodes;

describe('test clocks', () => {
  it("stamps a clock's customers' subscriptions, usage and alerts with the clock's time and refuses usage outside its window", async () => {
    const { clock, customerId, subscription } = await clockWithCustomer('stamps');
    expect(clock).toMatchObject({ name: 'stamps', frozenTime: JAN_5, customerCount: 0 });
    expect((await t.admin.ok(TestClocksDocument, { first: 100 })).testClocks.nodes.find((c) => c.id === clock.id)).toMatchObject({ customerCount: 1 });
    expect(clock.invoiceNumberPrefix).toMatch(/^TEST_\d+$/);
    expect(subscription.startsAt).toBe(JAN_5);
    expect((await t.admin.ok(ClockUpcomingDocument, { customerId })).upcomingInvoice!.invoice).toMatchObject({ periodStart: '2026-01-01T00:00:00.000Z', periodEnd: '2026-02-01T00:00:00.000Z' });

    await t.admin.ok(CreateAlertDefinitionDocument, { input: { customerId, metric: 'PERIOD_SPEND', threshold: '0.20', name: 'spend' } });
    const recorded = (await t.admin.ok(ClockRecordUsageDocument, { input: gpt4oInput(customerId, `stamp-${seq++}`) })).recordUsage;
    expect(recorded.event).toMatchObject({ timestamp: JAN_5, amount: '0.25' });
    const [alert] = (await t.admin.ok(ClockAlertsDocument, { customerId })).alerts.nodes;
    expect(alert).toMatchObject({ createdAt: JAN_5, periodStart: '2026-01-01T00:00:00.000Z', value: '0.25' });

    // The window is the clock's: the real time is months ahead of it, a day before it is fine.
    await advance(clock.id, '2026-01-06T09:00:00.000Z');
    const ahead = await t.admin.request(ClockRecordUsageDocument, { input: { ...gpt4oInput(customerId, `ahead-${seq++}`), timestamp: new Date().toISOString() } });
    expect(codesOf(ahead)).toEqual(['VALIDATION_FAILED']);
    const dayBefore = (await t.admin.ok(ClockRecordUsageDocument, { input: { ...gpt4oInput(customerId, `before-${seq++}`), timestamp: '2026-01-05T12:00:00.000Z' } })).recordUsage;
    expect(dayBefore.event?.timestamp).toBe('2026-01-05T12:00:00.000Z');
    expect((await t.admin.ok(ClockRecordUsageDocument, { input: gpt4oInput(customerId, `later-${seq++}`) })).recordUsage.event?.timestamp).toBe('2026-01-06T09:00:00.000Z');
  });

  it('keeps its customers apart from live ones: lists, margins and the live scheduler leave them out', async () => {
    const { clock, customerId, externalId } = await clockWithCustomer('apart');
    await t.admin.ok(ClockRecordUsageDocument, { input: gpt4oInput(customerId, `apart-${seq++}`) });
    const live = (await t.admin.ok(ClockCustomersDocument, {})).customers.nodes;
    expect(live.map((c) => c.id)).not.toContain(customerId);
    const onClock = (await t.admin.ok(ClockCustomersDocument, { testClockId: clock.id })).customers.nodes;
    expect(onClock).toEqual([{ id: customerId, testClock: { id: clock.id, frozenTime: JAN_5 } }]);
    expect((await t.admin.ok(TestClocksDocument, { first: 100 })).testClocks.nodes.map((c) => c.id)).toContain(clock.id);
    expect((await t.admin.ok(NodeByIdDocument, { id: clock.id })).node).toMatchObject({ __typename: 'TestClock', id: clock.id });

    // Every customer's events are the live ones'; the clock's customer lists its own.
    const range = { from: '2026-01-01T00:00:00Z', to: '2026-01-08T00:00:00Z', first: 100 };
    const everyone = (await t.admin.ok(UsageEventsDocument, range)).usageEvents.edges;
    expect(everyone.map((e) => e.node.customerId)).not.toContain(customerId);
    expect((await t.admin.ok(UsageEventsDocument, { ...range, customerId })).usageEvents.edges).toHaveLength(1);

    const margins = (await t.admin.ok(MarginsDocument, { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z', groupBy: 'CUSTOMER' })).margins;
    expect(JSON.stringify(margins)).not.toContain(externalId);
    const asked = (await t.admin.ok(MarginsDocument, { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z', groupBy: 'CUSTOMER', customerId })).margins;
    expect(JSON.stringify(asked)).toContain(externalId);

    // January ended long ago in real time: the scheduler still leaves the clock's customer alone.
    await t.app.services.invoices.closeDue();
    expect(await invoicesOf(customerId)).toEqual([]);
  });

  it('closes periods, finalizes invoices in a numbering of their own and runs dunning as the clock advances', async () => {
    const { clock, customerId } = await clockWithCustomer('advance');
    await t.admin.ok(ClockRecordUsageDocument, { input: gpt4oInput(customerId, `adv-${seq++}`) });

    const bad = await t.admin.request(AdvanceTestClockDocument, { input: { testClockId: clock.id, frozenTime: '2026-01-04T00:00:00Z' } });
    expect(codesOf(bad)).toEqual(['VALIDATION_FAILED']);

    // The period ended; in its grace it is a draft.
    const drafted = await advance(clock.id, '2026-02-01T12:00:00.000Z');
    expect(drafted).toMatchObject({ customers: 1, draftedInvoices: 1, finalizedInvoiceIds: [] });
    expect((await invoicesOf(customerId)).map((i) => i.status)).toEqual(['DRAFT']);

    const finalized = await advance(clock.id, '2026-02-02T12:00:00.000Z');
    expect(finalized.finalizedInvoiceIds).toHaveLength(1);
    const [invoice] = await invoicesOf(customerId);
    expect(invoice).toMatchObject({ id: finalized.finalizedInvoiceIds[0], status: 'FINALIZED', number: `${clock.invoiceNumberPrefix}-0001`, finalizedAt: '2026-02-02T12:00:00.000Z', total: '0.25' });
    // The same time again runs nothing twice.
    expect(await advance(clock.id, '2026-02-02T12:00:00.000Z')).toMatchObject({ draftedInvoices: 0, finalizedInvoiceIds: [] });

    // A failed payment schedules the retries from the clock's time; passing them all makes it uncollectible then.
    const failed = (await t.admin.ok(RecordPaymentAttemptDocument, { input: { invoiceId: invoice!.id, outcome: 'FAILED', failureReason: 'card declined', idempotencyKey: `fail-${seq++}` } })).recordPaymentAttempt;
    expect(failed.invoice.nextPaymentAttemptAt).toBe('2026-02-03T12:00:00.000Z');
    const dunned = await advance(clock.id, '2026-02-20T00:00:00.000Z');
    expect(dunned.dunningSteps).toBeGreaterThan(0);
    expect((await invoicesOf(customerId))[0]).toMatchObject({ status: 'UNCOLLECTIBLE', uncollectibleAt: '2026-02-20T00:00:00.000Z' });
  });

  it('is for ADMIN keys only', async () => {
    const { clock } = await clockWithCustomer('admin-only');
    const { secret } = await t.app.services.apiKeys.create({ name: 'customer key', role: Role.CUSTOMER, customerId: (await t.admin.ok(ClockCustomersDocument, { testClockId: clock.id })).customers.nodes[0]!.id });
    const asCustomer = t.client(secret);
    expect(codesOf(await asCustomer.request(AdvanceTestClockDocument, { input: { testClockId: clock.id, frozenTime: '2026-03-01T00:00:00Z' } }))).toEqual(['FORBIDDEN']);
    expect(codesOf(await asCustomer.request(CreateTestClockDocument, { input: { name: 'x', frozenTime: JAN_5 } }))).toEqual(['FORBIDDEN']);
  });
});
