import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateApiKeyDocument, RecordUsageDocument } from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { fundedCustomer, gpt4oInput, ledgerState, setupCatalogue } from '../support/usage-fixtures.js';

/** POST /v1/events: usage as CloudEvents, on the same pipeline as recordUsage. */
describe('POST /v1/events', () => {
  let t: TestApp;
  let eventsUrl: string;

  beforeAll(async () => {
    t = await startTestApp();
    await setupCatalogue(t);
    eventsUrl = t.url.replace('/graphql', '/v1/events');
  });
  afterAll(async () => t?.close());

  const post = async (body: unknown, opts: { type?: string; key?: string; query?: string } = {}) => {
    const res = await fetch(eventsUrl + (opts.query ?? ''), {
      method: 'POST',
      headers: { 'content-type': opts.type ?? 'application/cloudevents-batch+json', ...(opts.key === '' ? {} : { authorization: `Bearer ${opts.key ?? t.adminKey}` }) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
  };

  const tokens = (subject: string, id: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    type: 'llm_tokens',
    id,
    source: 'chat-service',
    subject,
    time: new Date(Date.now() - 60_000).toISOString(),
    data,
    ...extra,
  });

  it('charges a batch exactly as recordUsage does, says which event each result is, and replays a retry without charging again', async () => {
    const viaEvents = await fundedCustomer(t, '10');
    const viaGraphql = await fundedCustomer(t, '10');
    const batch = [
      tokens(viaEvents.externalId, 'evt-1', { tokens: '100000', model: 'gpt-4o', tokenType: 'input' }),
      tokens(viaEvents.externalId, 'evt-2', { tokens: 250000, model: 'gpt-4o', tokenType: 'output', requestId: 'r-9' }),
    ];
    const first = await post(batch);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ acceptedCount: 2, allAccepted: true, failedIndex: null });
    expect(first.body.results.map((r: any) => [r.id, r.source, r.index, r.status, r.replayed])).toEqual([
      ['evt-1', 'chat-service', 0, 'ACCEPTED', false],
      ['evt-2', 'chat-service', 1, 'ACCEPTED', false],
    ]);
    expect(first.body.results[1].event).toMatchObject({ meterCode: 'llm_tokens', quantity: '250000', dimensions: { model: 'gpt-4o', tokenType: 'output' } });

    await t.admin.ok(RecordUsageDocument, { input: gpt4oInput(viaGraphql.customerId, 'g-1') });
    await t.admin.ok(RecordUsageDocument, { input: { ...gpt4oInput(viaGraphql.customerId, 'g-2', '250000'), dimensions: { model: 'gpt-4o', tokenType: 'output' } } });
    const a = await ledgerState(t, viaEvents.walletId!);
    const b = await ledgerState(t, viaGraphql.walletId!);
    expect(a.charged).toBe(b.charged);
    expect(a.balance).toBe(b.balance);

    const retry = await post(batch);
    expect(retry.body.results.map((r: any) => [r.status, r.replayed, r.event.id])).toEqual(first.body.results.map((r: any) => ['ACCEPTED', true, r.event.id]));
    expect(await ledgerState(t, viaEvents.walletId!)).toEqual(a);
  });

  it('answers each bad event with VALIDATION_FAILED naming the CloudEvent field (an unpriced one with UNPRICED_EVENT, members the meter does not know ignored), and charges the good ones', async () => {
    const c = await fundedCustomer(t, '10');
    const res = await post([
      tokens(c.externalId, 'ok-1', { tokens: '1000', model: 'gpt-4o', tokenType: 'input' }),
      tokens(c.externalId, 'bad-spec', { tokens: '1000', model: 'gpt-4o', tokenType: 'input' }, { specversion: '0.3' }),
      { ...tokens(c.externalId, 'x', { tokens: '1000', model: 'gpt-4o', tokenType: 'input' }), id: undefined },
      tokens(c.externalId, 'inexact', { tokens: 12345678901234567890, model: 'gpt-4o', tokenType: 'input' }),
      tokens(c.externalId, 'bad-dimension', { tokens: '1000', model: 'gpt-4o', tokenType: 'thinking', colour: 'blue' }),
      tokens(c.externalId, 'no-quantity', { model: 'gpt-4o', tokenType: 'input' }),
      { ...tokens(c.externalId, 'unknown-meter', { tokens: '1' }), type: 'no_such_meter' },
      tokens('nobody-has-this-id', 'unknown-subject', { tokens: '1000', model: 'gpt-4o', tokenType: 'input' }),
      tokens(c.externalId, 'bad-time', { tokens: '1000', model: 'gpt-4o', tokenType: 'input' }, { time: 'yesterday' }),
      'not an object',
    ]);
    expect(res.status).toBe(200);
    const byIndex = res.body.results.map((r: any) => [r.status, r.refusal?.code ?? null, (r.refusal?.fields ?? []).map((f: any) => f.path)]);
    expect(byIndex).toEqual([
      ['ACCEPTED', null, []],
      ['ERROR', 'VALIDATION_FAILED', ['specversion']],
      ['ERROR', 'VALIDATION_FAILED', ['id']],
      ['ERROR', 'VALIDATION_FAILED', ['data.tokens']],
      ['REFUSED', 'UNPRICED_EVENT', []],
      ['ERROR', 'VALIDATION_FAILED', ['data.tokens']],
      ['ERROR', 'NOT_FOUND', []],
      ['ERROR', 'NOT_FOUND', []],
      ['ERROR', 'VALIDATION_FAILED', ['time']],
      ['ERROR', 'VALIDATION_FAILED', ['']],
    ]);
    expect(res.body.acceptedCount).toBe(1);
    expect((await ledgerState(t, c.walletId!)).events).toBe('1');
  });

  it('with atomic=true charges all or none; the same source and id with other data is IDEMPOTENCY_KEY_REUSED; another source is another event', async () => {
    const c = await fundedCustomer(t, '10');
    const atomic = await post(
      [tokens(c.externalId, 'a-1', { tokens: '1000', model: 'gpt-4o', tokenType: 'input' }), tokens(c.externalId, 'a-2', { model: 'gpt-4o', tokenType: 'input' })],
      { query: '?atomic=true' },
    );
    expect(atomic.body).toMatchObject({ acceptedCount: 0, failedIndex: 1 });
    expect(atomic.body.results.map((r: any) => r.status)).toEqual(['NOT_CHARGED', 'ERROR']);
    expect((await ledgerState(t, c.walletId!)).events).toBe('0');

    const one = await post(tokens(c.externalId, 'k-1', { tokens: '1000', model: 'gpt-4o', tokenType: 'input' }), { type: 'application/cloudevents+json' });
    expect(one.body.results[0].status).toBe('ACCEPTED');
    const reused = await post(tokens(c.externalId, 'k-1', { tokens: '2000', model: 'gpt-4o', tokenType: 'input' }), { type: 'application/cloudevents+json' });
    expect(reused.body.results[0].refusal.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const otherSource = await post(tokens(c.externalId, 'k-1', { tokens: '2000', model: 'gpt-4o', tokenType: 'input' }, { source: 'batch-jobs' }), { type: 'application/cloudevents+json' });
    expect(otherSource.body.results[0]).toMatchObject({ status: 'ACCEPTED', replayed: false });
    expect((await ledgerState(t, c.walletId!)).events).toBe('2');
  });

  it('refuses what is not a CloudEvents request before touching anything: 415, 400, 413, 401, 403', async () => {
    const c = await fundedCustomer(t, '10');
    const event = tokens(c.externalId, 'r-1', { tokens: '1000', model: 'gpt-4o', tokenType: 'input' });
    expect((await post([event], { type: 'application/json' })).status).toBe(415);
    expect((await post('{not json', {})).status).toBe(400);
    expect((await post(event, {})).body.errors[0]).toMatchObject({ extensions: { code: 'BAD_REQUEST' } });
    expect((await post(Array.from({ length: 1001 }, (_, i) => ({ ...event, id: `r-${i}` })))).status).toBe(413);
    const anonymous = await post([event], { key: '' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const customerKey = (await t.admin.ok(CreateApiKeyDocument, { input: { name: 'reader', role: 'CUSTOMER', customerId: c.customerId } })).createApiKey.secret;
    const forbidden = await post([event], { key: customerKey });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect((await ledgerState(t, c.walletId!)).events).toBe('0');
  });
});
