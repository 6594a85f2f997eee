import type { SqlClient, SqlPool } from '../../db/sql.js';
import { Decimal } from '../../shared/money/decimal.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import type { ComposedLine } from './invoice-compose.pure.js';
import { billedKey } from './invoice-compose.pure.js';
import type { Billed, BuyerSnapshot, InvoiceKind, InvoiceLineRecord, InvoiceRecord, InvoiceStatus, LineKind, SellerSnapshot } from './invoice.record.js';

/** What finalization fixes on an invoice besides its number: the parties and the due date. */
export interface InvoiceDocumentFacts {
  seller: SellerSnapshot | null;
  buyer: BuyerSnapshot;
  paymentTermsDays: number;
  dueAt: Date;
}

/** An invoice row with the invoices it names: the one it corrects and the one correcting it. */
const INVOICE_WITH_REFS = `select i.*,
       (select jsonb_build_object('id', c.id, 'number', c.number) from invoice c where c.id = i.corrects_invoice_id) as corrects,
       (select jsonb_build_object('id', r.id, 'number', r.number) from invoice r where r.corrects_invoice_id = i.id
         order by r.created_at desc limit 1) as corrected_by
  from invoice i`;

export type BilledMap = Map<string, Billed & { description: string; kind: LineKind; periodEnd: Date }>;


export interface SubscriptionRow {
  id: string;
  planId: string;
  status: string;
  alignment: 'CALENDAR' | 'ANNIVERSARY';
  startsAt: Date;
  endsAt: Date | null;
  billingAnchor: Date;
  /** The day of the month CALENDAR periods start on; the 1st when null or absent. */
  billingDay?: number | null;
  trialEndsAt: Date | null;
  baseFeeTiming: 'ADVANCE' | 'ARREARS';
  replacesSubscriptionId: string | null;
  updatedAt: Date;
}


/** The only code that reads and writes invoices. */
export class InvoiceRepository {
  constructor(private readonly sql: SqlPool) {}

  transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T> {
    return this.sql.transaction(fn);
  }

  /** Serialises invoice work on one customer (held until the transaction ends). */
  async lockCustomer(client: SqlClient, customerId: string): Promise<void> {
    await client.query(`select pg_advisory_xact_lock(hashtextextended('invoice:' || $1::text, 0))`, [customerId]);
  }

  async subscriptions(client: SqlClient, customerId: string): Promise<SubscriptionRow[]> {
    const { rows } = await client.query<Record<string, never>>(
      `select id, plan_id, status, alignment, starts_at, ends_at, billing_anchor, billing_day, trial_ends_at, base_fee_timing, replaces_subscription_id, updated_at
         from subscription where customer_id = $1 order by starts_at, created_at`,
      [customerId],
    );
    return rows.map((r: Record<string, any>) => ({
      id: r.id,
      planId: r.plan_id,
      status: r.status,
      alignment: r.alignment,
      startsAt: r.starts_at,
      endsAt: r.ends_at,
      billingAnchor: r.billing_anchor,
      billingDay: r.billing_day,
      trialEndsAt: r.trial_ends_at,
      baseFeeTiming: r.base_fee_timing,
      replacesSubscriptionId: r.replaces_subscription_id,
      updatedAt: r.updated_at,
    }));
  }

  /** Customers with a subscription that started by `at`: when their subscriptions last changed, and whether a draft is open. */
  /** Live customers only: a test clock's customers close when their clock advances. */
  async customersToClose(at: Date): Promise<Array<{ customerId: string; changedAt: Date; hasDraft: boolean }>> {
    const rows = await this.sql.query<{ customer_id: string; changed_at: Date; has_draft: boolean }>(
      `select s.customer_id, max(s.updated_at) as changed_at,
              exists (select 1 from invoice i where i.customer_id = s.customer_id and i.status = 'DRAFT') as has_draft
         from subscription s join customer c on c.id = s.customer_id
        where s.starts_at <= $1 and c.test_clock_id is null
        group by s.customer_id order by s.customer_id`,
      [at],
    );
    return rows.map((r) => ({ customerId: r.customer_id, changedAt: r.changed_at, hasDraft: r.has_draft }));
  }

  /** What finalized (or paid) invoices other than `except` billed for these periods, by period and key. */
  async billed(client: SqlClient, customerId: string, periodStarts: Date[], except: string | null): Promise<BilledMap> {
    const { rows } = await client.query<{
      period_start: Date;
      period_end: Date;
      billing_key: string;
      kind: LineKind;
      description: string;
      amount: string;
      rounded: string;
      quantity: string | null;
      invoices: string[];
    }>(
      `select l.period_start, max(l.period_end) as period_end, l.billing_key, max(l.kind) as kind,
              (array_agg(l.description order by i.finalized_at, l.position))[1] as description,
              sum(l.precise_amount)::text as amount, sum(l.amount)::text as rounded, sum(l.quantity)::text as quantity,
              array_agg(distinct i.number) as invoices
         from invoice_line l join invoice i on i.id = l.invoice_id
        where i.customer_id = $1 and i.status in ('FINALIZED', 'PAID') and l.period_start = any($2::timestamptz[])
          and i.id is distinct from $3::uuid
        group by l.period_start, l.billing_key`,
      [customerId, periodStarts, except],
    );
    return new Map(
      rows.map((r) => [
        billedKey(r.period_start, r.billing_key),
        {
          amount: new Decimal(r.amount),
          rounded: new Decimal(r.rounded),
          quantity: r.quantity === null ? null : new Decimal(r.quantity),
          invoices: r.invoices,
          description: r.description,
          kind: r.kind,
          periodEnd: r.period_end,
        },
      ]),
    );
  }

  /** Invoices of a customer that are not void, newest period first, without lines. */
  async headers(client: SqlClient | SqlPool, customerId: string): Promise<InvoiceRecord[]> {
    const rows = await query(client, `select * from invoice where customer_id = $1 and status <> 'VOID' order by period_start desc`, [customerId]);
    return rows.map((r) => toInvoice(r, []));
  }

  /** One invoice without its lines, as the caller's transaction sees it. */
  async header(client: SqlClient, id: string): Promise<InvoiceRecord | null> {
    const [row] = await query(client, 'select * from invoice where id = $1', [id]);
    return row ? toInvoice(row, []) : null;
  }

  async get(id: string): Promise<InvoiceRecord | null> {
    const [row] = await this.sql.query<Record<string, unknown>>(`${INVOICE_WITH_REFS} where i.id = $1`, [id]);
    if (!row) return null;
    return toInvoice(row, await this.lines(this.sql, id));
  }

  async lines(client: SqlClient | SqlPool, invoiceId: string): Promise<InvoiceLineRecord[]> {
    const rows = await query(client, 'select * from invoice_line where invoice_id = $1 order by position', [invoiceId]);
    return rows.map(toLine);
  }

  /** Invoices of a customer, newest period first, keyset-paginated on (period_start, id). */
  async page(customerId: string, first: number, after: { periodStart: Date; id: string } | null): Promise<{ items: InvoiceRecord[]; hasNextPage: boolean }> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `${INVOICE_WITH_REFS} where i.customer_id = $1 ${after ? 'and (i.period_start, i.id) < ($3, $4)' : ''}
        order by i.period_start desc, i.id desc limit $2`,
      after ? [customerId, first + 1, after.periodStart, after.id] : [customerId, first + 1],
    );
    const items = await Promise.all(rows.slice(0, first).map(async (r) => toInvoice(r, await this.lines(this.sql, r.id as string))));
    return { items, hasNextPage: rows.length > first };
  }

  /** Writes an invoice and replaces its lines (the invoice must be a draft, or new). */
  async save(client: SqlClient, inv: InvoiceRecord, lines: ComposedLine[], exponent: number): Promise<void> {
    await client.query(
      `insert into invoice (id, customer_id, kind, status, currency, period_start, period_end, grace_ends_at, tax_rate, subtotal, tax, total, prepaid,
                            amount_due, precise, rule_sets, usage_seen, rounding, proration, computed_at, corrects_invoice_id, created_at, updated_at)
       values ($1, $2, $3, 'DRAFT', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)
       on conflict (id) do update set grace_ends_at = excluded.grace_ends_at, tax_rate = excluded.tax_rate, subtotal = excluded.subtotal,
         tax = excluded.tax, total = excluded.total, prepaid = excluded.prepaid, amount_due = excluded.amount_due, precise = excluded.precise,
         rule_sets = excluded.rule_sets, usage_seen = excluded.usage_seen, computed_at = excluded.computed_at, updated_at = excluded.updated_at`,
      [
        inv.id, inv.customerId, inv.kind, inv.currency, inv.periodStart, inv.periodEnd, inv.graceEndsAt, inv.taxRate && JSON.stringify(inv.taxRate),
        inv.subtotal, inv.tax, inv.total, inv.prepaid, inv.amountDue, JSON.stringify(inv.precise), JSON.stringify(inv.ruleSets),
        JSON.stringify(inv.usageSeen), inv.rounding, inv.proration, inv.computedAt, inv.correctsInvoiceId, inv.updatedAt,
      ],
    );
    await client.query('delete from invoice_line where invoice_id = $1', [inv.id]);
    if (lines.length === 0) return;
    const payload = lines.map((l, i) => ({
      id: `${inv.id.slice(0, 24)}${(i + 1).toString(16).padStart(12, '0')}`,
      position: i + 1,
      kind: l.kind,
      billing_key: l.key,
      period_start: l.periodStart.toISOString(),
      period_end: l.periodEnd.toISOString(),
      description: l.description.slice(0, 500),
      meter_code: l.meterCode,
      dimensions: l.dimensions,
      quantity: l.quantity?.toFixed() ?? null,
      precise_amount: l.precise.toFixed(),
      amount: l.rounded.toFixed(exponent),
      taxable: l.taxable,
      tiers: l.tiers,
      adjustments: l.adjustments,
      details: l.details,
    }));
    await client.query(
      `insert into invoice_line (id, invoice_id, position, kind, billing_key, period_start, period_end, description, meter_code, dimensions,
                                 quantity, precise_amount, amount, taxable, tiers, adjustments, details)
       select x.id, $1, x.position, x.kind, x.billing_key, x.period_start, x.period_end, x.description, x.meter_code, x.dimensions,
              x.quantity, x.precise_amount, x.amount, x.taxable, x.tiers, x.adjustments, x.details
         from jsonb_to_recordset($2::jsonb) as x(id uuid, position int, kind text, billing_key text, period_start timestamptz, period_end timestamptz,
              description text, meter_code text, dimensions jsonb, quantity numeric, precise_amount numeric, amount numeric, taxable boolean,
              tiers jsonb, adjustments jsonb, details jsonb)`,
      [inv.id, JSON.stringify(payload)],
    );
  }

  /**
   * Numbers and finalizes a draft, fixing its parties and due date. The counter row is locked
   * until commit, so numbers have no gaps.
   */
  /**
   * Numbers and finalizes a draft. `collect`: the customer's provider collects by itself, so a
   * first payment attempt is due at once (an invoice with something to pay); the dunning worker
   * makes it.
   */
  async finalize(client: SqlClient, invoiceId: string, scope: string, format: (sequence: bigint) => string, at: Date, facts: InvoiceDocumentFacts, collect = false): Promise<string> {
    const { rows } = await client.query<{ last: string }>(
      `insert into invoice_counter (scope, last) values ($1, 1) on conflict (scope) do update set last = invoice_counter.last + 1 returning last::text`,
      [scope],
    );
    const sequence = BigInt(rows[0]!.last);
    const number = format(sequence);
    await client.query(
      `update invoice set status = 'FINALIZED', number = $2, number_scope = $3, sequence = $4, finalized_at = $5, updated_at = $5,
              seller = $6, buyer = $7, payment_terms_days = $8, due_at = $9,
              next_payment_attempt_at = case when $10 and amount_due > 0 then $5::timestamptz end
        where id = $1 and status = 'DRAFT'`,
      [invoiceId, number, scope, sequence.toString(), at, facts.seller && JSON.stringify(facts.seller), JSON.stringify(facts.buyer), facts.paymentTermsDays, facts.dueAt, collect],
    );
    return number;
  }

  /** Applies a status change if the invoice is still in one of `from`; false otherwise. */
  async transition(client: SqlClient | null, id: string, from: InvoiceStatus[], set: Record<string, unknown>): Promise<boolean> {
    const cols = Object.keys(set);
    const rows = await query(
      client ?? this.sql,
      `update invoice set ${cols.map((c, i) => `${c} = $${i + 3}`).join(', ')} where id = $1 and status = any($2::text[]) returning id`,
      [id, from, ...Object.values(set)] as never[],
    );
    return rows.length === 1;
  }
}

async function query(client: SqlClient | SqlPool, text: string, params: unknown[]): Promise<Array<Record<string, unknown>>> {
  const result = await (client as SqlClient).query(text, params as never[]);
  return Array.isArray(result) ? (result as Array<Record<string, unknown>>) : (result.rows as Array<Record<string, unknown>>);
}

const text = (v: unknown): string => (v === null || v === undefined ? '0' : String(v));

function toInvoice(r: Record<string, any>, lines: InvoiceLineRecord[]): InvoiceRecord {
  return {
    id: r.id,
    customerId: r.customer_id,
    kind: r.kind as InvoiceKind,
    status: r.status as InvoiceStatus,
    currency: r.currency,
    periodStart: r.period_start,
    periodEnd: r.period_end,
    graceEndsAt: r.grace_ends_at,
    number: r.number,
    taxRate: r.tax_rate,
    subtotal: text(r.subtotal),
    tax: text(r.tax),
    total: text(r.total),
    prepaid: text(r.prepaid),
    amountDue: text(r.amount_due),
    precise: r.precise,
    ruleSets: r.rule_sets,
    usageSeen: r.usage_seen,
    rounding: r.rounding,
    proration: r.proration,
    computedAt: r.computed_at,
    finalizedAt: r.finalized_at,
    paidAt: r.paid_at,
    paymentReference: r.payment_reference,
    amountPaid: formatLedgerUnits(String(r.amount_paid ?? '0')),
    amountRefunded: formatLedgerUnits(String(r.amount_refunded ?? '0')),
    paymentStatus: r.payment_status ?? 'NONE',
    paymentAttempts: r.payment_attempts ?? 0,
    nextPaymentAttemptAt: r.next_payment_attempt_at ?? null,
    uncollectibleAt: r.uncollectible_at ?? null,
    voidedAt: r.voided_at,
    voidReason: r.void_reason,
    correctsInvoiceId: r.corrects_invoice_id,
    corrects: r.corrects ?? null,
    correctedBy: r.corrected_by ?? null,
    seller: r.seller ?? null,
    buyer: r.buyer ?? null,
    paymentTermsDays: r.payment_terms_days ?? null,
    dueAt: r.due_at ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lines,
  };
}

function toLine(r: Record<string, any>): InvoiceLineRecord {
  return {
    id: r.id,
    position: r.position,
    kind: r.kind,
    billingKey: r.billing_key,
    periodStart: r.period_start,
    periodEnd: r.period_end,
    description: r.description,
    meterCode: r.meter_code,
    dimensions: r.dimensions,
    quantity: r.quantity,
    preciseAmount: r.precise_amount,
    amount: r.amount,
    taxable: r.taxable,
    tiers: r.tiers,
    adjustments: r.adjustments,
    details: r.details,
  };
}
