import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../src/shared/clock.js';
import { CancelSubscriptionDocument, CreateCustomerDocument, CreateSubscriptionDocument, SubscriptionPeriodsDocument } from '../generated/graphql.js';
import { setupCatalogue } from '../support/usage-fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * `PlanSubscription.currentPeriod`: the period the subscription is in at the app's clock, in
 * the customer's time zone, as invoices count it. New York is on EST (UTC−5) until 8 March 2026
 * and on EDT (UTC−4) after, so local midnights and anniversary times move by an hour in UTC.
 */
const clock = new FixedClock(new Date('2026-03-15T12:00:00Z'));
let t: TestApp;
let seq = 0;

beforeAll(async () => {
  t = await startTestApp({ clock });
  await setupCatalogue(t);
});
afterAll(() => t.close());

async function subscribed(input: { startsAt: string; alignment?: 'CALENDAR' | 'ANNIVERSARY'; timezone?: string }): Promise<{ customerId: string; subscriptionId: string }> {
  const externalId = `period-${seq++}`;
  const { customer } = (await t.admin.ok(CreateCustomerDocument, { input: { externalId, name: externalId, currency: 'USD', timezone: input.timezone ?? 'America/New_York' } })).createCustomer;
  const { subscription } = (await t.admin.ok(CreateSubscriptionDocument, { input: { customerId: customer.id, planCode: 'api', startsAt: input.startsAt, alignment: input.alignment } })).createSubscription;
  return { customerId: customer.id, subscriptionId: subscription.id };
}

async function periodOf(customerId: string) {
  const { subscriptions } = await t.admin.ok(SubscriptionPeriodsDocument, { customerId });
  return subscriptions.nodes[0]!.currentPeriod;
}

describe('the current period of a subscription', () => {
  it('is the calendar month from local midnight on the 1st for a CALENDAR monthly subscription', async () => {
    clock.set('2026-03-15T12:00:00Z');
    const { customerId } = await subscribed({ startsAt: '2026-02-10T00:00:00Z', alignment: 'CALENDAR' });
    // 1 March 00:00 EST, to 1 April 00:00 EDT.
    expect(await periodOf(customerId)).toEqual({ start: '2026-03-01T05:00:00.000Z', end: '2026-04-01T04:00:00.000Z' });
    clock.set('2026-04-01T03:59:59Z');
    expect(await periodOf(customerId)).toEqual({ start: '2026-03-01T05:00:00.000Z', end: '2026-04-01T04:00:00.000Z' });
    clock.set('2026-04-01T04:00:00Z');
    expect(await periodOf(customerId)).toEqual({ start: '2026-04-01T04:00:00.000Z', end: '2026-05-01T04:00:00.000Z' });
  });

  it('runs from the start day and local time for an ANNIVERSARY subscription', async () => {
    clock.set('2026-03-15T12:00:00Z');
    // Started 20 January at 10:30 in New York (EST): periods start on the 20th at 10:30 local.
    const { customerId } = await subscribed({ startsAt: '2026-01-20T15:30:00Z', alignment: 'ANNIVERSARY' });
    expect(await periodOf(customerId)).toEqual({ start: '2026-02-20T15:30:00.000Z', end: '2026-03-20T14:30:00.000Z' });
    clock.set('2026-03-20T14:30:00Z');
    expect(await periodOf(customerId)).toEqual({ start: '2026-03-20T14:30:00.000Z', end: '2026-04-20T14:30:00.000Z' });
  });

  it('is the whole calendar period in the month a subscription starts in', async () => {
    clock.set('2026-03-15T12:00:00Z');
    const { customerId } = await subscribed({ startsAt: '2026-03-10T17:00:00Z', alignment: 'CALENDAR' });
    expect(await periodOf(customerId)).toEqual({ start: '2026-03-01T05:00:00.000Z', end: '2026-04-01T04:00:00.000Z' });
  });

  it('follows the time zone of the customer, UTC when it has none', async () => {
    clock.set('2026-03-15T12:00:00Z');
    const { customerId } = await subscribed({ startsAt: '2026-02-10T00:00:00Z', timezone: 'UTC' });
    expect(await periodOf(customerId)).toEqual({ start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' });
  });

  it('is null before the subscription starts, and after it is canceled', async () => {
    clock.set('2026-03-15T12:00:00Z');
    const future = await subscribed({ startsAt: '2026-04-01T04:00:00Z' });
    expect(await periodOf(future.customerId)).toBeNull();

    const canceled = await subscribed({ startsAt: '2026-02-10T00:00:00Z' });
    await t.admin.ok(CancelSubscriptionDocument, { input: { subscriptionId: canceled.subscriptionId, timing: 'IMMEDIATE' } });
    expect(await periodOf(canceled.customerId)).toBeNull();
  });

  it('runs to the end of a subscription canceled at period end, then is null', async () => {
    clock.set('2026-03-15T12:00:00Z');
    const { customerId, subscriptionId } = await subscribed({ startsAt: '2026-02-10T00:00:00Z' });
    await t.admin.ok(CancelSubscriptionDocument, { input: { subscriptionId, timing: 'PERIOD_END' } });
    expect(await periodOf(customerId)).toEqual({ start: '2026-03-01T05:00:00.000Z', end: '2026-04-01T04:00:00.000Z' });
    clock.set('2026-04-01T04:00:00Z');
    expect(await periodOf(customerId)).toBeNull();
  });
});
