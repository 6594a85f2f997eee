import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizeUsageDocument, ReleaseReservationDocument, ReservationDocument, SettleReservationDocument, WalletDocument } from '../generated/graphql.js';
import { codesOf } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, ledgerState, setupCatalogue } from '../support/usage-fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { SWEEP_INTERVAL_MS: '0' } });
  await setupCatalogue(t);
});
afterAll(() => t.close());

const authorize = (customerId: string, key: string, extra: Record<string, unknown> = {}) =>
  t.admin.ok(AuthorizeUsageDocument, { input: { customerId, meterCode: 'llm_tokens', estimatedAmount: '1', dimensions: { model: 'gpt-4o', tokenType: 'output' }, idempotencyKey: key, ...extra } });

/** 10.00 per million gpt-4o output tokens: 50,000 tokens cost 0.5. */
const settle = (reservationId: string, key: string, quantity: string) =>
  t.admin.request(SettleReservationDocument, { input: { reservationId, quantity, dimensions: { model: 'gpt-4o', tokenType: 'output' }, idempotencyKey: key } });

const available = async (walletId: string) => (await t.admin.ok(WalletDocument, { id: walletId })).wallet!;

describe('two-phase usage', () => {
  it('holds an estimate, then settles below it and gives back the rest', async () => {
    const c = await fundedCustomer(t, '2');
    const a = (await authorize(c.customerId, 'auth-below')).authorizeUsage;
    expect(a).toMatchObject({ status: 'AUTHORIZED', reservation: { amount: '1', status: 'OPEN' } });
    expect(await available(c.walletId!)).toMatchObject({ balance: '2', held: '1', available: '1' });
    const s = await settle(a.reservation!.id, 'settle-below', '50000');
    expect(s.data?.settleReservation).toMatchObject({ status: 'ACCEPTED', event: { charged: '0.5', reservationId: a.reservation!.id }, reservation: { status: 'SETTLED' } });
    expect(await available(c.walletId!)).toMatchObject({ balance: '1.5', held: '0', available: '1.5' });
  });

  it('settles exactly at the estimate and above it when the wallet allows', async () => {
    const c = await fundedCustomer(t, '3');
    const at = (await authorize(c.customerId, 'auth-at')).authorizeUsage.reservation!;
    expect((await settle(at.id, 'settle-at', '100000')).data?.settleReservation.event?.charged).toBe('1');
    const above = (await authorize(c.customerId, 'auth-above')).authorizeUsage.reservation!;
    expect((await settle(above.id, 'settle-above', '150000')).data?.settleReservation.event?.charged).toBe('1.5');
    expect(await available(c.walletId!)).toMatchObject({ balance: '0.5', held: '0' });
  });

  it('refuses to settle above the estimate when the wallet cannot pay the rest, keeping the hold', async () => {
    const c = await fundedCustomer(t, '1');
    const r = (await authorize(c.customerId, 'auth-poor')).authorizeUsage.reservation!;
    const s = await settle(r.id, 'settle-poor', '200000');
    expect(s.data?.settleReservation).toMatchObject({ status: 'REFUSED', refusal: { code: 'WALLET_INSUFFICIENT_FUNDS' }, reservation: { status: 'OPEN' } });
    expect(await available(c.walletId!)).toMatchObject({ held: '1', available: '0' });
  });

  it('refuses an authorization the wallet cannot cover', async () => {
    const c = await fundedCustomer(t, '0.5');
    expect((await authorize(c.customerId, 'auth-big')).authorizeUsage).toMatchObject({ status: 'REFUSED', refusal: { code: 'WALLET_INSUFFICIENT_FUNDS', available: '0.5' } });
  });

  it('prices an estimated quantity with the rules', async () => {
    const c = await fundedCustomer(t, '10');
    const r = (await authorize(c.customerId, 'auth-q', { estimatedAmount: null, estimatedQuantity: '300000' })).authorizeUsage;
    expect(r.reservation?.amount).toBe('3');
  });

  it('releases a reservation, idempotently, and then refuses to settle it', async () => {
    const c = await fundedCustomer(t, '2');
    const r = (await authorize(c.customerId, 'auth-release')).authorizeUsage.reservation!;
    const first = await t.admin.ok(ReleaseReservationDocument, { input: { reservationId: r.id } });
    const again = await t.admin.ok(ReleaseReservationDocument, { input: { reservationId: r.id } });
    expect([first.releaseReservation.reservation.status, again.releaseReservation.reservation.status]).toEqual(['RELEASED', 'RELEASED']);
    expect(await available(c.walletId!)).toMatchObject({ held: '0', available: '2' });
    expect(codesOf(await settle(r.id, 'settle-released', '1000'))).toEqual(['RESERVATION_CLOSED']);
  });

  it('expires reservations automatically; an expired one can no longer be settled', async () => {
    const c = await fundedCustomer(t, '2');
    const r = (await authorize(c.customerId, 'auth-expire', { ttlSeconds: 1 })).authorizeUsage.reservation!;
    expect(await available(c.walletId!)).toMatchObject({ held: '1' });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(codesOf(await settle(r.id, 'settle-expired', '1000'))).toEqual(['RESERVATION_CLOSED']);
    await t.app.services.sweeper.sweep();
    expect((await t.admin.ok(ReservationDocument, { id: r.id })).reservation?.status).toBe('EXPIRED');
    expect(await available(c.walletId!)).toMatchObject({ held: '0', available: '2' });
  });

  it('makes all three operations idempotent', async () => {
    const c = await fundedCustomer(t, '5');
    const a1 = (await authorize(c.customerId, 'auth-idem')).authorizeUsage;
    const a2 = (await authorize(c.customerId, 'auth-idem')).authorizeUsage;
    expect(a2).toMatchObject({ replayed: true, reservation: { id: a1.reservation!.id } });
    const s1 = await settle(a1.reservation!.id, 'settle-idem', '50000');
    const s2 = await settle(a1.reservation!.id, 'settle-idem', '50000');
    expect(s2.data?.settleReservation).toMatchObject({ replayed: true, event: { id: s1.data?.settleReservation.event?.id } });
    expect(codesOf(await settle(a1.reservation!.id, 'settle-idem', '60000'))).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(await ledgerState(t, c.walletId!)).toMatchObject({ events: '1', charged: '500000000' });
  });
});
