import { BodyError, readBodyBytes } from '../../http/body.js';
import { sendJson, type Route } from '../../http/router.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Settlement } from './payment-provider.record.js';
import type { PaymentService } from './payment.service.js';
import { STRIPE, type StripePaymentProvider } from './stripe-payment.client.js';

export const STRIPE_WEBHOOK_PATH = '/v1/providers/stripe/webhook';

/**
 * `POST /v1/providers/stripe/webhook`: the events Stripe sends. The raw body is verified with
 * the library against STRIPE_WEBHOOK_SECRET (a bad or missing signature is 400 and changes
 * nothing). `payment_intent.succeeded` and `payment_intent.payment_failed` settle a PENDING
 * invoice payment or auto-recharge, `refund.updated` and `refund.failed` a pending refund; each
 * once, so that the same event delivered again (Stripe retries until it gets a 2xx) changes
 * nothing. Other events are answered 200 and ignored. An event about a PaymentIntent or refund
 * we made but have not recorded yet (it raced the transaction that records it) is answered 409,
 * and Stripe sends it again later.
 */
export function stripeWebhookRoutes(deps: {
  stripe: StripePaymentProvider;
  payments: PaymentService;
  /** Settles a wallet's auto-recharge by its PaymentIntent; false when none has that reference. */
  settleRecharge: (s: Settlement) => Promise<boolean>;
  bodyLimit: number;
  logger: Logger;
}): Route[] {
  const settlePayment = async (s: Settlement): Promise<boolean> => {
    try {
      await deps.payments.settle(s);
      return true;
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.NOT_FOUND) return false;
      throw err;
    }
  };
  return [
    {
      name: 'stripe-webhook',
      path: STRIPE_WEBHOOK_PATH,
      methods: ['POST'],
      handle: async ({ req, res }) => {
        let payload: Buffer;
        try {
          payload = await readBodyBytes(req, deps.bodyLimit);
        } catch (err) {
          if (err instanceof BodyError) return sendJson(res, err.status, { error: err.message });
          throw err;
        }
        let notice;
        try {
          notice = deps.stripe.notice(payload, header(req.headers['stripe-signature']));
        } catch (err) {
          deps.logger.warn({ err: (err as Error).message }, 'a Stripe webhook failed signature verification');
          return sendJson(res, 400, { error: 'signature verification failed' });
        }
        if (notice.kind === 'ignored') return sendJson(res, 200, { received: true, ignored: notice.type });
        const settlement: Settlement = { provider: STRIPE, reference: notice.reference, outcome: notice.outcome, failureReason: notice.failureReason };
        const settled = notice.kind === 'payment' && notice.rechargeId ? await deps.settleRecharge(settlement) : await settlePayment(settlement);
        if (!settled && notice.ours) return sendJson(res, 409, { error: `${notice.reference} is not recorded yet; send it again later` });
        sendJson(res, 200, settled ? { received: true } : { received: true, ignored: notice.reference });
      },
    },
  ];
}

const header = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);
