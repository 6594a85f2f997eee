import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import { PaymentKind, PaymentOutcome, PaymentStatus, type PaymentRecord } from './payment.record.js';

registerEnumType(PaymentKind, {
  name: 'PaymentKind',
  valuesConfig: { PAYMENT: { description: 'Money received for an invoice (or an attempt to collect it).' }, REFUND: { description: 'Money given back from a payment.' } },
});
registerEnumType(PaymentStatus, {
  name: 'PaymentStatus',
  valuesConfig: {
    PENDING: { description: 'With a payment provider that has yet to settle it.' },
    SUCCEEDED: { description: 'The money moved.' },
    FAILED: { description: 'No money moved; failureReason says why.' },
  },
});
registerEnumType(PaymentOutcome, { name: 'PaymentOutcome', description: 'What became of a payment attempt the integrator made.' });

@ObjectType('Payment', { implements: Node, description: 'A payment attempt on an invoice, or a refund of a payment: an entry of the record of money received.' })
export class PaymentObject {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  invoiceId!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => PaymentKind)
  kind!: PaymentKind;

  @Field(() => PaymentStatus, { description: "The attempt's outcome (or a refund's)." })
  status!: PaymentStatus;

  @Field(() => Int, { nullable: true, description: "The attempt's number on its invoice, 1 for the first; null for a refund." })
  attempt!: number | null;

  @Field(() => DecimalScalar, { description: 'In the invoice currency (the amount tried, for a failed attempt).' })
  amount!: string;

  @Field(() => String)
  currency!: string;

  @Field(() => String, { description: 'The payment provider: MANUAL when the integrator collects and reports.' })
  provider!: string;

  @Field(() => String, { nullable: true, description: "The payment's (or refund's) reference at the provider." })
  reference!: string | null;

  @Field(() => String, { nullable: true, description: 'Why an attempt failed.' })
  failureReason!: string | null;

  @Field(() => ID, { nullable: true, description: 'The payment a refund gives money back from.' })
  refundsPaymentId!: string | null;

  @Field(() => String, { nullable: true, description: 'Why a refund was made.' })
  reason!: string | null;

  @Field(() => Date, { description: 'When it happened.' })
  at!: Date;
}

export const toPaymentObject = (p: PaymentRecord): PaymentObject => ({
  id: p.id,
  invoiceId: p.invoiceId,
  customerId: p.customerId,
  kind: p.kind,
  status: p.status,
  attempt: p.attempt,
  amount: formatLedgerUnits(p.amount),
  currency: p.currency,
  provider: p.provider,
  reference: p.providerReference,
  failureReason: p.failureReason,
  refundsPaymentId: p.refundsPaymentId,
  reason: p.reason,
  at: p.occurredAt,
});
