import type { SqlClient, SqlPool } from '../../db/sql.js';
import type { Payer } from './payment-provider.record.js';
import type { CollectedInvoice, DunningPolicy, DunningSchedule, InvoicePaymentState, PaymentRecord } from './payment.record.js';

const PAYMENT_COLUMNS = `id, invoice_id, customer_id, kind, status, amount::text, currency, provider, provider_reference, attempt, failure_reason,
  refunds_payment_id, reason, idempotency_key, request_hash, occurred_at, created_at, updated_at`;

/** A customer as suspension sees it, read under its row lock. */
export interface CustomerStanding {
  id: string;
  externalId: string;
  suspendedAt: Date | null;
  suspensionReason: string | null;
}

/**
 * The only code that reads and writes payments, and the collection columns of invoices and
 * customers. Every change runs in a transaction that holds the invoice's row lock (and the
 * customer's, for suspension), so two instances never apply the same transition twice.
 */
export class PaymentRepository {
  constructor(private readonly sql: SqlPool) {}

  transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T> {
    return this.sql.transaction(fn);
  }

  /** The invoice, locked until the transaction ends; null when there is none. */
  async lockInvoice(client: SqlClient, id: string): Promise<CollectedInvoice | null> {
    const { rows } = await client.query(
      `select id, customer_id, number, status, currency, period_end, (amount_due * 1000000000)::bigint::text as billed, amount_paid::text,
              amount_refunded::text, payment_status, payment_attempts, next_payment_attempt_at, dunning, payment_reference,
              (select tc.frozen_time from customer c join test_clock tc on tc.id = c.test_clock_id where c.id = invoice.customer_id) as clock_time
         from invoice where id = $1 for update`,
      [id],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      id: r.id,
      customerId: r.customer_id,
      number: r.number,
      status: r.status,
      currency: r.currency,
      periodEnd: r.period_end,
      billed: BigInt(r.billed),
      amountPaid: BigInt(r.amount_paid),
      amountRefunded: BigInt(r.amount_refunded),
      paymentStatus: r.payment_status,
      paymentAttempts: r.payment_attempts,
      nextPaymentAttemptAt: r.next_payment_attempt_at,
      dunning: r.dunning as DunningSchedule | null,
      paymentReference: r.payment_reference,
      clockTime: r.clock_time,
    };
  }

  /** Writes what a payment, refund or dunning step made of the invoice. */
  async saveInvoice(client: SqlClient, id: string, s: InvoicePaymentState, now: Date): Promise<void> {
    await client.query(
      `update invoice set status = $2, amount_paid = $3, amount_refunded = $4, payment_status = $5, payment_attempts = $6,
              next_payment_attempt_at = $7, dunning = $8, paid_at = coalesce($9, paid_at), payment_reference = case when $9::timestamptz is null then payment_reference else $10 end,
              uncollectible_at = coalesce($11, uncollectible_at), updated_at = $12
        where id = $1`,
      [id, s.status, s.amountPaid, s.amountRefunded, s.paymentStatus, s.paymentAttempts, s.nextPaymentAttemptAt, s.dunning && JSON.stringify(s.dunning),
        s.paidAt ?? null, s.paymentReference ?? null, s.uncollectibleAt ?? null, now],
    );
  }

  /** The plan version in force at the end of the invoice's period: its dunning settings. */
  async planDunning(client: SqlClient, customerId: string, periodEnd: Date): Promise<{ retryDays: number[] | null; policy: DunningPolicy } | null> {
    const { rows } = await client.query<{ dunning_retry_days: number[] | null; dunning_policy: DunningPolicy }>(
      `select p.dunning_retry_days, p.dunning_policy from subscription s join plan p on p.id = s.plan_id
        where s.customer_id = $1 and s.starts_at < $2 order by s.starts_at desc, s.created_at desc limit 1`,
      [customerId, periodEnd],
    );
    const r = rows[0];
    return r ? { retryDays: r.dunning_retry_days, policy: r.dunning_policy } : null;
  }

  async byKey(client: SqlClient, key: string): Promise<PaymentRecord | null> {
    const { rows } = await client.query(`select ${PAYMENT_COLUMNS} from payment where idempotency_key = $1`, [key]);
    return rows[0] ? toPayment(rows[0]) : null;
  }

  /** A payment, locked until the transaction ends (refunds of it wait for each other). */
  async lockPayment(client: SqlClient, id: string): Promise<PaymentRecord | null> {
    const { rows } = await client.query(`select ${PAYMENT_COLUMNS} from payment where id = $1 for update`, [id]);
    return rows[0] ? toPayment(rows[0]) : null;
  }

  /** A provider's PENDING payment or refund by its reference, locked. */
  async lockPending(client: SqlClient, provider: string, reference: string): Promise<PaymentRecord | null> {
    const { rows } = await client.query(`select ${PAYMENT_COLUMNS} from payment where provider = $1 and provider_reference = $2 and status = 'PENDING' for update`, [provider, reference]);
    return rows[0] ? toPayment(rows[0]) : null;
  }

  /** What refunds of a payment took or hold back (succeeded and pending ones). */
  async refunded(client: SqlClient, paymentId: string): Promise<bigint> {
    const { rows } = await client.query<{ n: string }>(`select coalesce(sum(amount), 0)::text as n from payment where refunds_payment_id = $1 and status <> 'FAILED'`, [paymentId]);
    return BigInt(rows[0]!.n);
  }

  async insert(client: SqlClient, p: PaymentRecord): Promise<void> {
    await client.query(
      `insert into payment (id, invoice_id, customer_id, kind, status, amount, currency, provider, provider_reference, attempt, failure_reason,
                            refunds_payment_id, reason, idempotency_key, request_hash, occurred_at, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)`,
      [p.id, p.invoiceId, p.customerId, p.kind, p.status, p.amount, p.currency, p.provider, p.providerReference, p.attempt, p.failureReason,
        p.refundsPaymentId, p.reason, p.idempotencyKey, p.requestHash, p.occurredAt, p.createdAt],
    );
  }

  /** Settles a PENDING payment or refund (the only change a payment row allows). */
  async settle(client: SqlClient, id: string, status: 'SUCCEEDED' | 'FAILED', failureReason: string | null, now: Date): Promise<void> {
    await client.query(`update payment set status = $2, failure_reason = $3, updated_at = $4 where id = $1 and status = 'PENDING'`, [id, status, failureReason, now]);
  }

  /**
   * Payments (not refunds) these providers left PENDING and that nobody looked at since `before`:
   * updated_at is when the attempt went pending, then when it was last checked (the one column
   * payment_guard lets a PENDING row change besides its settlement). Least recently checked first.
   */
  async pendingUnchecked(providers: string[], before: Date, limit: number): Promise<Array<{ provider: string; reference: string }>> {
    const rows = await this.sql.query<{ provider: string; provider_reference: string }>(
      `select provider, provider_reference from payment
        where status = 'PENDING' and kind = 'PAYMENT' and provider = any($1::text[]) and provider_reference is not null and updated_at <= $2
        order by updated_at, seq limit $3`,
      [providers, before, limit],
    );
    return rows.map((r) => ({ provider: r.provider, reference: r.provider_reference }));
  }

  /** Notes that the provider said a PENDING payment still is: the next check is a window from `now`. */
  async checkedPending(provider: string, reference: string, now: Date): Promise<void> {
    await this.sql.query(`update payment set updated_at = $3 where provider = $1 and provider_reference = $2 and status = 'PENDING' and updated_at < $3`, [provider, reference, now]);
  }

  /** Payments and refunds of invoices, in the order they were recorded. */
  async ofInvoices(invoiceIds: string[]): Promise<PaymentRecord[]> {
    const rows = await this.sql.query(`select ${PAYMENT_COLUMNS} from payment where invoice_id = any($1::uuid[]) order by seq`, [invoiceIds]);
    return rows.map(toPayment);
  }

  /** A provider's payment or refund by its reference (the latest, should a provider reuse one). */
  async byReference(provider: string, reference: string): Promise<PaymentRecord | null> {
    const rows = await this.sql.query(`select ${PAYMENT_COLUMNS} from payment where provider = $1 and provider_reference = $2 order by seq desc limit 1`, [provider, reference]);
    return rows[0] ? toPayment(rows[0]) : null;
  }

  async get(id: string): Promise<PaymentRecord | null> {
    const rows = await this.sql.query(`select ${PAYMENT_COLUMNS} from payment where id = $1`, [id]);
    return rows[0] ? toPayment(rows[0]) : null;
  }

  /** Who collects the customer's money, with the provider's references to charge it (no card data). */
  async payer(client: SqlClient | null, customerId: string): Promise<Payer> {
    const text = 'select payment_provider, stripe_customer_id, stripe_payment_method_id from customer where id = $1';
    const rows = client ? (await client.query(text, [customerId])).rows : await this.sql.query(text, [customerId]);
    const r = rows[0]!;
    return { provider: r.payment_provider, customerReference: r.stripe_customer_id, paymentMethodReference: r.stripe_payment_method_id };
  }

  /** The customer, locked until the transaction ends. */
  async lockCustomer(client: SqlClient, customerId: string): Promise<CustomerStanding> {
    const { rows } = await client.query(`select id, external_id, suspended_at, suspension_reason from customer where id = $1 for update`, [customerId]);
    const r = rows[0]!;
    return { id: r.id, externalId: r.external_id, suspendedAt: r.suspended_at, suspensionReason: r.suspension_reason };
  }

  async setSuspension(client: SqlClient, customerId: string, suspendedAt: Date | null, reason: string | null, now: Date): Promise<void> {
    await client.query(`update customer set suspended_at = $2, suspension_reason = $3, updated_at = $4 where id = $1`, [customerId, suspendedAt, reason, now]);
  }

  /** Whether the customer still has an uncollectible invoice whose plan suspends. */
  async suspendingInvoices(client: SqlClient, customerId: string): Promise<number> {
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from invoice where customer_id = $1 and status = 'UNCOLLECTIBLE' and dunning ->> 'policy' = 'SUSPEND'`,
      [customerId],
    );
    return rows[0]!.n;
  }

  /**
   * Invoices whose next attempt is due: at once for providers that collect, a whole retry day
   * later for the others (the integrator had that day to report). Before a first failure fixes
   * the schedule (and its provider), the provider is the customer's: a first attempt is due
   * from finalization for customers of a provider that collects.
   */
  /** Live customers' invoices, or with a test clock's id its customers'. */
  async due(now: Date, collecting: string[], windowMs: number, limit: number, testClockId: string | null = null): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(
      `select i.id from invoice i join customer c on c.id = i.customer_id
        where i.next_payment_attempt_at is not null and i.status = 'FINALIZED'
          and c.test_clock_id is not distinct from $5::uuid
          and i.next_payment_attempt_at <= case when coalesce(i.dunning ->> 'provider', c.payment_provider) = any($2::text[]) then $1::timestamptz
                                                else $1::timestamptz - make_interval(secs => $3::bigint / 1000.0) end
        order by i.next_payment_attempt_at limit $4`,
      [now, collecting, windowMs, limit, testClockId],
    );
    return rows.map((r) => r.id);
  }
}

function toPayment(r: Record<string, any>): PaymentRecord {
  return {
    id: r.id,
    invoiceId: r.invoice_id,
    customerId: r.customer_id,
    kind: r.kind,
    status: r.status,
    amount: BigInt(r.amount),
    currency: r.currency,
    provider: r.provider,
    providerReference: r.provider_reference,
    attempt: r.attempt,
    failureReason: r.failure_reason,
    refundsPaymentId: r.refunds_payment_id,
    reason: r.reason,
    idempotencyKey: r.idempotency_key,
    requestHash: r.request_hash,
    occurredAt: r.occurred_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
