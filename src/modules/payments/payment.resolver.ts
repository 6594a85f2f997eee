import { Arg, Authorized, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { Role, visibleTo } from '../api-keys/index.js';
import { InvoiceObject, toInvoiceObject, type InvoiceRecord } from '../invoices/index.js';
import { MarkInvoicePaidInput, MarkInvoicePaidPayload, RecordPaymentAttemptInput, RecordPaymentAttemptPayload, RefundPaymentInput, RefundPaymentPayload } from './payment.inputs.js';
import { PaymentObject, toPaymentObject } from './payment.object.js';
import { PaymentKind, type PaymentRecord } from './payment.record.js';
import type { PaymentService } from './payment.service.js';

/** An invoice a mutation answers with, carrying its payments as the write just left them. */
type WithPayments = InvoiceObject & { payments?: PaymentRecord[] };

@Resolver()
export class PaymentResolver implements NodeSource {
  constructor(private readonly service: PaymentService) {}

  /** A payment or refund as a node: to ADMIN keys, and to the credentials of its customer, who read it on their invoices. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({
      typename: 'Payment',
      table: 'payment',
      roles: [Role.ADMIN, Role.CUSTOMER],
      load: async (ctx, id) => {
        const payment = visibleTo(ctx.principal, await this.service.findPayment(id));
        return payment && toPaymentObject(payment);
      },
    });
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RecordPaymentAttemptPayload, {
    description: "Records an attempt the integrator's payment flow made on an invoice (MANUAL): SUCCEEDED moves amountPaid, FAILED starts or follows the dunning schedule.",
  })
  async recordPaymentAttempt(@Arg('input', () => RecordPaymentAttemptInput) input: RecordPaymentAttemptInput): Promise<RecordPaymentAttemptPayload> {
    const r = await this.service.recordAttempt(input);
    return { payment: toPaymentObject(r.payment), invoice: await this.withPayments(r.invoice), replayed: r.replayed };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RefundPaymentPayload, { description: 'Gives money back from a succeeded payment, at most what is left of it; amountPaid falls.' })
  async refundPayment(@Arg('input', () => RefundPaymentInput) input: RefundPaymentInput): Promise<RefundPaymentPayload> {
    const r = await this.service.refund(input);
    return { refund: toPaymentObject(r.payment), payment: toPaymentObject(r.refunded), invoice: await this.withPayments(r.invoice), replayed: r.replayed };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => MarkInvoicePaidPayload, { description: 'Records a MANUAL payment of what remains due, making the invoice PAID.' })
  async markInvoicePaid(@Arg('input', () => MarkInvoicePaidInput) input: MarkInvoicePaidInput): Promise<MarkInvoicePaidPayload> {
    return { invoice: await this.withPayments(await this.service.markPaid(input)) };
  }

  /** Read on the write pool with the change, not on a replica that may not have it yet. */
  private async withPayments(invoice: InvoiceRecord): Promise<WithPayments> {
    return { ...toInvoiceObject(invoice), payments: await this.service.ofInvoices([invoice.id], true) };
  }
}

@Resolver(() => InvoiceObject)
export class InvoicePaymentsResolver {
  constructor(private readonly service: PaymentService) {}

  @FieldResolver(() => [PaymentObject], { description: 'Payment attempts, oldest first: outcome, amount, reference, when, and why one failed.' })
  async paymentAttempts(@Root() invoice: WithPayments): Promise<PaymentObject[]> {
    return (await this.payments(invoice)).filter((p) => p.kind === PaymentKind.PAYMENT).map(toPaymentObject);
  }

  @FieldResolver(() => [PaymentObject], { description: 'Refunds of its payments, oldest first.' })
  async refunds(@Root() invoice: WithPayments): Promise<PaymentObject[]> {
    return (await this.payments(invoice)).filter((p) => p.kind === PaymentKind.REFUND).map(toPaymentObject);
  }

  private async payments(invoice: WithPayments): Promise<PaymentRecord[]> {
    return invoice.payments ?? this.service.ofInvoices([invoice.id]);
  }
}
