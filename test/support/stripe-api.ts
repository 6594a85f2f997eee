import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * A local server speaking the documented subset of Stripe's API that the Stripe adapter uses, so
 * that its tests run without the network:
 *
 * - `POST /v1/payment_intents` (form-encoded, as the library sends it): an off-session
 *   PaymentIntent, confirmed at once, on a customer's payment method. The payment method ids are
 *   Stripe's test-mode ones: `pm_card_visa` (and any other `pm_card_…`) succeeds;
 *   `pm_card_chargeDeclined` is declined (402 card_error, card_declined / generic_decline),
 *   `pm_card_chargeDeclinedInsufficientFunds` with insufficient_funds; an id ending in
 *   `_processing` leaves the PaymentIntent `processing` (as a bank debit does), for the test to
 *   settle with `finish`, which sends the event Stripe would.
 * - `GET /v1/payment_intents/:id`: the PaymentIntent as it stands (what the service asks when a
 *   webhook is late; `finishQuietly` ends one without sending its event, `failNextReads` makes
 *   Stripe fail on its side).
 * - `POST /v1/refunds`: a refund of a succeeded PaymentIntent, at most what is left of it.
 *
 * Every request needs `Authorization: Bearer <the secret key>`. `Idempotency-Key` is honoured
 * as Stripe documents: the same key with the same parameters answers the first response again
 * (status and body, nothing done twice); with other parameters, 400 idempotency_error. Every
 * request is recorded (path, headers, form fields) for the tests to assert. Events are signed
 * with the webhook secret by the library's own `generateTestHeaderString` and posted to
 * `webhookUrl`.
 */
export class LocalStripeApi {
  readonly requests: RecordedRequest[] = [];
  readonly paymentIntents = new Map<string, PaymentIntentShape>();
  readonly refunds = new Map<string, Record<string, unknown>>();
  /** Our endpoint (/v1/providers/stripe/webhook), set once the app listens. */
  webhookUrl = '';
  /** Drops the connection instead of answering the next POST, after doing its work (a response lost on the way). */
  loseNextResponse = false;
  /** Answers this many of the next GETs with a 500 api_error that Stripe says not to retry (Stripe failing on its side). */
  failNextReads = 0;
  private readonly idempotent = new Map<string, { params: string; status: number; body: unknown }>();
  private readonly server: Server;
  private readonly signer = new Stripe('sk_test_signer').webhooks;
  private seq = 0;

  private constructor(
    readonly secretKey: string,
    readonly webhookSecret: string,
  ) {
    this.server = createServer((req, res) => void this.handle(req, res).catch((err) => send(res, 500, { error: { type: 'api_error', message: String(err) } })));
  }

  static async start(secretKey = `sk_test_${randomBytes(12).toString('hex')}`, webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`): Promise<LocalStripeApi> {
    const api = new LocalStripeApi(secretKey, webhookSecret);
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The environment that points the service at this server. */
  get env(): Record<string, string> {
    return { STRIPE_SECRET_KEY: this.secretKey, STRIPE_WEBHOOK_SECRET: this.webhookSecret, STRIPE_API_BASE: this.url };
  }

  /** The PaymentIntents created (once per idempotency key), in order. */
  created(): PaymentIntentShape[] {
    return [...this.paymentIntents.values()];
  }

  /** Requests to one path, in order. */
  to(method: string, path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  /** A `processing` PaymentIntent ends as Stripe would end it; the event it causes is sent. */
  async finish(id: string, outcome: 'succeeded' | 'failed'): Promise<{ status: number; body: string; event: Record<string, unknown> }> {
    const pi = this.end(id, outcome);
    return this.sendEvent(outcome === 'succeeded' ? 'payment_intent.succeeded' : 'payment_intent.payment_failed', pi);
  }

  /** A `processing` PaymentIntent ends as `finish` ends it, but its event never reaches us (lost, or the endpoint misconfigured). */
  finishQuietly(id: string, outcome: 'succeeded' | 'failed'): PaymentIntentShape {
    return this.end(id, outcome);
  }

  private end(id: string, outcome: 'succeeded' | 'failed'): PaymentIntentShape {
    const pi = this.paymentIntents.get(id)!;
    if (outcome === 'succeeded') Object.assign(pi, { status: 'succeeded', amount_received: pi.amount });
    else Object.assign(pi, { status: 'requires_payment_method', last_payment_error: declineError('insufficient_funds', pi) });
    return pi;
  }

  /** Builds an event about `object` and posts it to our endpoint, signed (with another secret when `secret` is given). */
  async sendEvent(type: string, object: unknown, options: { secret?: string; event?: Record<string, unknown> } = {}): Promise<{ status: number; body: string; event: Record<string, unknown> }> {
    const event = options.event ?? {
      id: `evt_${this.next()}`,
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object: structuredClone(object) },
    };
    return { ...(await this.post(JSON.stringify(event), options.secret ?? this.webhookSecret)), event };
  }

  /** Posts a body as Stripe does, with a Stripe-Signature header made by the library. */
  async post(payload: string, secret = this.webhookSecret): Promise<{ status: number; body: string }> {
    const signature = this.signer.generateTestHeaderString({ payload, secret });
    const res = await fetch(this.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature }, body: payload });
    return { status: res.status, body: await res.text() };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://stripe.local');
    const form = parseForm(raw);
    const recorded: RecordedRequest = { method: req.method ?? '', path: url.pathname, headers: req.headers, form };
    this.requests.push(recorded);
    if (req.headers.authorization !== `Bearer ${this.secretKey}`) return send(res, 401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } });
    if (req.method === 'GET' && this.failNextReads > 0) {
      this.failNextReads--;
      return send(res, 500, { error: { type: 'api_error', message: 'An unknown error occurred (test).' } }, { 'stripe-should-retry': 'false' });
    }
    const key = header(req.headers['idempotency-key']);
    const route = `${req.method} ${url.pathname.replace(/\/pi_[A-Za-z0-9]+$/, '/:id')}`;
    if (key && req.method === 'POST') {
      const earlier = this.idempotent.get(`${route} ${key}`);
      if (earlier) {
        if (earlier.params !== raw) return send(res, 400, { error: { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with.` } });
        return send(res, earlier.status, earlier.body, { 'idempotent-replayed': 'true' });
      }
    }
    const [status, body] = this.answer(route, url, form);
    if (key && req.method === 'POST') this.idempotent.set(`${route} ${key}`, { params: raw, status, body });
    if (this.loseNextResponse && req.method === 'POST') {
      this.loseNextResponse = false;
      req.socket.destroy();
      return;
    }
    send(res, status, body);
  }

  private answer(route: string, url: URL, form: Record<string, string>): [number, unknown] {
    switch (route) {
      case 'POST /v1/payment_intents':
        return this.createPaymentIntent(form);
      case 'GET /v1/payment_intents/:id': {
        const pi = this.paymentIntents.get(url.pathname.split('/').pop()!);
        return pi ? [200, pi] : [404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: 'No such payment_intent' } }];
      }
      case 'POST /v1/refunds':
        return this.createRefund(form);
      default:
        return [404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${route}).` } }];
    }
  }

  private createPaymentIntent(form: Record<string, string>): [number, unknown] {
    const amount = Number(form.amount);
    const missing = ['amount', 'currency', 'customer', 'payment_method'].find((f) => !form[f]);
    if (missing) return invalid(`Missing required param: ${missing}.`, missing);
    if (!Number.isSafeInteger(amount) || amount < 1 || String(amount) !== form.amount) return invalid('Invalid integer: amount', 'amount');
    if (!/^[a-z]{3}$/.test(form.currency!)) return invalid('Invalid currency', 'currency');
    if (form.confirm !== 'true' || form.off_session !== 'true') return invalid('This test server charges off-session, confirmed PaymentIntents only.', 'confirm');
    const metadata = Object.fromEntries(Object.entries(form).filter(([k]) => k.startsWith('metadata[')).map(([k, v]) => [k.slice(9, -1), v]));
    const id = `pi_${this.next()}`;
    const pm = form.payment_method!;
    const pi: PaymentIntentShape = {
      id,
      object: 'payment_intent',
      amount,
      amount_received: 0,
      currency: form.currency!,
      customer: form.customer!,
      payment_method: pm,
      description: form.description ?? null,
      metadata,
      status: 'succeeded',
      last_payment_error: null,
      // As an expanded charge would show it: card details live at Stripe only.
      latest_charge: { id: `ch_${this.next()}`, object: 'charge', payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034, fingerprint: 'fpLocalStripeTest42' } } },
      created: Math.floor(Date.now() / 1000),
      livemode: false,
    };
    this.paymentIntents.set(id, pi);
    if (pm.endsWith('_processing')) {
      pi.status = 'processing';
      return [200, pi];
    }
    const decline = pm === 'pm_card_chargeDeclined' ? 'generic_decline' : pm === 'pm_card_chargeDeclinedInsufficientFunds' ? 'insufficient_funds' : null;
    if (decline) {
      Object.assign(pi, { status: 'requires_payment_method', last_payment_error: declineError(decline, pi) });
      return [402, { error: { ...declineError(decline, pi), payment_intent: pi } }];
    }
    pi.amount_received = amount;
    return [200, pi];
  }

  private createRefund(form: Record<string, string>): [number, unknown] {
    const pi = form.payment_intent ? this.paymentIntents.get(form.payment_intent) : undefined;
    if (!pi) return invalid(`No such payment_intent: '${form.payment_intent}'`, 'payment_intent');
    if (pi.status !== 'succeeded') return invalid('This PaymentIntent has no successful charge to refund.', 'payment_intent');
    const refunded = [...this.refunds.values()].filter((r) => r.payment_intent === pi.id).reduce((n, r) => n + (r.amount as number), 0);
    const amount = form.amount ? Number(form.amount) : pi.amount - refunded;
    if (!Number.isSafeInteger(amount) || amount < 1 || amount > pi.amount - refunded) return invalid(`Refund amount (${form.amount}) is greater than unrefunded amount on charge.`, 'amount');
    const metadata = Object.fromEntries(Object.entries(form).filter(([k]) => k.startsWith('metadata[')).map(([k, v]) => [k.slice(9, -1), v]));
    const refund = { id: `re_${this.next()}`, object: 'refund', amount, currency: pi.currency, payment_intent: pi.id, status: 'succeeded', metadata, created: Math.floor(Date.now() / 1000) };
    this.refunds.set(refund.id, refund);
    return [200, refund];
  }

  private next(): string {
    return `${(++this.seq).toString().padStart(6, '0')}${randomBytes(6).toString('hex')}`;
  }
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The form fields as sent, keys as the library writes them (`metadata[invoiceId]`). */
  form: Record<string, string>;
}

export interface PaymentIntentShape {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  customer: string;
  payment_method: string;
  description: string | null;
  metadata: Record<string, string>;
  status: string;
  last_payment_error: Record<string, unknown> | null;
  latest_charge: Record<string, unknown>;
  created: number;
  livemode: false;
}

function declineError(declineCode: string, pi: { id: string; payment_method: string }) {
  return {
    type: 'card_error',
    code: 'card_declined',
    decline_code: declineCode,
    message: declineCode === 'insufficient_funds' ? 'Your card has insufficient funds.' : 'Your card was declined.',
    payment_method: { id: pi.payment_method, object: 'payment_method' },
    doc_url: 'https://stripe.com/docs/error-codes/card-declined',
  };
}

const invalid = (message: string, param: string): [number, unknown] => [400, { error: { type: 'invalid_request_error', message, param } }];

function parseForm(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw)) out[k] = v;
  return out;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${randomBytes(6).toString('hex')}`, ...headers });
  res.end(JSON.stringify(body));
}

const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
