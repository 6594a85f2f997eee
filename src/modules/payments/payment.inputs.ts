import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { InvoiceObject } from '../invoices/index.js';
import { PaymentObject } from './payment.object.js';
import { PaymentOutcome } from './payment.record.js';

@InputType({ description: "An attempt the integrator's own payment flow made to collect an invoice (MANUAL)." })
export class RecordPaymentAttemptInput {
  @Field(() => ID)
  invoiceId!: string;

  @Field(() => PaymentOutcome)
  outcome!: PaymentOutcome;

  @Field(() => DecimalScalar, { nullable: true, description: 'What was collected (or tried), at most the amount due; the amount due when absent.' })
  amount?: Decimal | null;

  @Field(() => String, { nullable: true, description: "The payment's reference in the payment system." })
  reference?: string | null;

  @Field(() => String, { nullable: true, description: 'Why it failed: required with FAILED, refused with SUCCEEDED.' })
  failureReason?: string | null;

  @Field(() => String, { description: 'A retry with the same key and input answers with the first payment; another input with it is IDEMPOTENCY_KEY_REUSED.' })
  idempotencyKey!: string;
}

@ObjectType()
export class RecordPaymentAttemptPayload {
  @Field(() => PaymentObject)
  payment!: PaymentObject;

  @Field(() => InvoiceObject, { description: 'The invoice after the payment.' })
  invoice!: InvoiceObject;

  @Field(() => Boolean, { description: 'True when this answers a retry of an earlier request with the same key.' })
  replayed!: boolean;
}

@InputType({ description: 'Money given back from a succeeded payment.' })
export class RefundPaymentInput {
  @Field(() => ID)
  paymentId!: string;

  @Field(() => DecimalScalar, { description: 'At most what is left of the payment after earlier refunds.' })
  amount!: Decimal;

  @Field(() => String, { nullable: true })
  reason?: string | null;

  @Field(() => String, { nullable: true, description: "The refund's reference in the payment system." })
  reference?: string | null;

  @Field(() => String)
  idempotencyKey!: string;
}

@ObjectType()
export class RefundPaymentPayload {
  @Field(() => PaymentObject)
  refund!: PaymentObject;

  @Field(() => PaymentObject, { description: 'The payment refunded.' })
  payment!: PaymentObject;

  @Field(() => InvoiceObject, { description: 'The invoice after the refund.' })
  invoice!: InvoiceObject;

  @Field(() => Boolean)
  replayed!: boolean;
}

@InputType()
export class MarkInvoicePaidInput {
  @Field(() => ID)
  invoiceId!: string;

  @Field(() => Date, { nullable: true, description: 'Now when absent.' })
  paidAt?: Date | null;

  @Field(() => String, { nullable: true, description: "The payment's reference in the payment system; repeating the call with it is a no-op." })
  paymentReference?: string | null;
}

@ObjectType()
export class MarkInvoicePaidPayload {
  @Field(() => InvoiceObject)
  invoice!: InvoiceObject;
}
