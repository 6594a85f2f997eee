import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { connectionType } from '../../graphql/pagination.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { RuleSetRefObject } from '../usage/index.js';
import { InvoiceBuyerObject, InvoiceSellerObject } from './invoice-document.object.js';
import type { InvoiceTotals } from './invoice.record.js';
import { InvoiceKind, InvoicePaymentStatus, InvoiceStatus, LineKind, type InvoiceLineRecord, type InvoiceRecord } from './invoice.record.js';
import { amountRemaining, atInvoiceScale } from './invoice-amounts.pure.js';

registerEnumType(InvoiceStatus, {
  name: 'InvoiceStatus',
  valuesConfig: {
    DRAFT: { description: 'Closed period inside its grace period: late events still change it.' },
    FINALIZED: { description: 'Numbered and immutable.' },
    PAID: { description: 'Finalized, and paid in full: nothing remains due (a later refund does not make it due again).' },
    UNCOLLECTIBLE: { description: 'Finalized, and dunning gave up: no payment succeeded by the last retry date. A payment still makes it PAID.' },
    VOID: { description: 'Cancelled with a reason; a corrected invoice may replace it.' },
  },
});
registerEnumType(InvoiceKind, {
  name: 'InvoiceKind',
  valuesConfig: { PERIOD: { description: 'Closes a billing period.' }, OPENING: { description: "A new subscription's first base fee, billed in advance." } },
});
registerEnumType(LineKind, { name: 'InvoiceLineKind' });
registerEnumType(InvoicePaymentStatus, {
  name: 'InvoicePaymentStatus',
  description: 'Where collecting an invoice stands.',
  valuesConfig: {
    NONE: { description: 'Nothing received yet, and no attempt failed.' },
    PENDING: { description: 'An attempt is with a payment provider, which has yet to settle it.' },
    FAILED: { description: 'The last attempt failed; the next is due at nextPaymentAttemptAt.' },
    PARTIALLY_PAID: { description: 'Part of it was received; the rest is due.' },
    PAID: { description: 'Paid in full.' },
    UNCOLLECTIBLE: { description: 'Dunning gave up (the invoice is UNCOLLECTIBLE).' },
    PARTIALLY_REFUNDED: { description: 'Paid, then part of it was refunded.' },
    REFUNDED: { description: 'Everything received was refunded.' },
  },
});

@ObjectType('InvoiceTier')
export class InvoiceTierObject {
  @Field(() => Int)
  tier!: number;

  @Field(() => DecimalScalar)
  quantity!: string;

  @Field(() => DecimalScalar)
  unitPrice!: string;

  @Field(() => DecimalScalar)
  flatFee!: string;

  @Field(() => DecimalScalar, { description: 'Exact amount of this tier.' })
  amount!: string;
}

@ObjectType('InvoiceLineAdjustment', { description: 'What a markup, discount or multiplier added to a line: its tiers plus its adjustments make its exact amount.' })
export class InvoiceLineAdjustmentObject {
  @Field(() => String)
  id!: string;

  @Field(() => String, { description: 'markup, discount or multiplier.' })
  kind!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => DecimalScalar, { description: 'The percent of a markup or discount, or the factor of a multiplier.' })
  rate!: string;

  @Field(() => DecimalScalar, { description: 'Exact amount it added (negative for a discount).' })
  amount!: string;
}

@ObjectType('InvoiceLine')
export class InvoiceLineObject {
  @Field(() => Int)
  position!: number;

  @Field(() => LineKind)
  kind!: LineKind;

  @Field(() => String)
  description!: string;

  @Field(() => Date, { description: 'Start of the period this line bills (an earlier one for late usage, the next one for fees in advance).' })
  periodStart!: Date;

  @Field(() => Date)
  periodEnd!: Date;

  @Field(() => String, { nullable: true })
  meterCode!: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'The dimension values this line groups, e.g. {"model": "gpt-4o"}.' })
  dimensions!: Record<string, string> | null;

  @Field(() => DecimalScalar, { nullable: true })
  quantity!: string | null;

  @Field(() => DecimalScalar, { description: 'Rounded once to the currency exponent.' })
  amount!: string;

  @Field(() => DecimalScalar, { description: 'The exact amount before rounding.' })
  preciseAmount!: string;

  @Field(() => Boolean)
  taxable!: boolean;

  @Field(() => [InvoiceTierObject])
  tiers!: InvoiceTierObject[];

  @Field(() => [InvoiceLineAdjustmentObject], { description: 'Markups, discounts and multipliers that changed the line, in the order applied.' })
  adjustments!: InvoiceLineAdjustmentObject[];

  @Field(() => GraphQLJSONObject)
  details!: Record<string, unknown>;
}

@ObjectType('InvoiceTaxRate')
export class InvoiceTaxRateObject {
  @Field(() => String)
  code!: string;

  @Field(() => String)
  name!: string;

  @Field(() => DecimalScalar)
  percent!: string;

  @Field(() => Boolean)
  inclusive!: boolean;
}

@ObjectType('Invoice', { implements: Node })
export class InvoiceObject {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'Set when finalized; gapless per organization or per customer.' })
  number!: string | null;

  @Field(() => ID)
  customerId!: string;

  @Field(() => InvoiceKind)
  kind!: InvoiceKind;

  @Field(() => InvoiceStatus)
  status!: InvoiceStatus;

  @Field(() => String)
  currency!: string;

  @Field(() => Date)
  periodStart!: Date;

  @Field(() => Date)
  periodEnd!: Date;

  @Field(() => Date, { description: 'Until then a draft; late events inside it are included.' })
  graceEndsAt!: Date;

  @Field(() => [InvoiceLineObject])
  lines!: InvoiceLineObject[];

  @Field(() => DecimalScalar, { description: 'Sum of the lines other than prepaid ones (tax included for tax-inclusive rates).' })
  subtotal!: string;

  @Field(() => DecimalScalar, { description: 'Tax added (exclusive) or contained (inclusive).' })
  tax!: string;

  @Field(() => DecimalScalar)
  total!: string;

  @Field(() => DecimalScalar, { description: 'Already paid from wallets and granted credits as usage happened (zero or negative).' })
  prepaid!: string;

  @Field(() => DecimalScalar, {
    description: 'What remains to be paid: total + prepaid − amountPaid, and zero once PAID (a refund of a paid invoice does not make it due again); negative is a credit to the customer.',
  })
  amountDue!: string;

  @Field(() => DecimalScalar, { description: 'Received for this invoice, less what was refunded.' })
  amountPaid!: string;

  @Field(() => DecimalScalar, { description: 'Refunded from its payments.' })
  amountRefunded!: string;

  @Field(() => InvoicePaymentStatus)
  paymentStatus!: InvoicePaymentStatus;

  @Field(() => Date, { nullable: true, description: 'When the next payment attempt is due after a failed one (dunning); null when none is scheduled.' })
  nextPaymentAttemptAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When dunning gave up and it became UNCOLLECTIBLE.' })
  uncollectibleAt!: Date | null;

  @Field(() => GraphQLJSONObject, { description: 'The same totals, exact.' })
  precise!: Record<string, string>;

  @Field(() => InvoiceTaxRateObject, { nullable: true })
  taxRate!: InvoiceTaxRateObject | null;

  @Field(() => [RuleSetRefObject], { description: 'Rule-set versions that priced the usage.' })
  ruleSets!: RuleSetRefObject[];

  @Field(() => String)
  rounding!: string;

  @Field(() => String)
  proration!: string;

  @Field(() => Date, { nullable: true })
  finalizedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  paidAt!: Date | null;

  @Field(() => String, { nullable: true })
  paymentReference!: string | null;

  @Field(() => Date, { nullable: true })
  voidedAt!: Date | null;

  @Field(() => String, { nullable: true })
  voidReason!: string | null;

  @Field(() => ID, { nullable: true, description: 'The voided invoice this one corrects (replaces).' })
  correctsInvoiceId!: string | null;

  @Field(() => ID, { nullable: true, description: 'The invoice that corrects (replaces) this voided one.' })
  correctedByInvoiceId!: string | null;

  @Field(() => InvoiceSellerObject, { nullable: true, description: 'Who issued it, frozen when it was finalized; null for drafts and when no seller is configured.' })
  seller!: InvoiceSellerObject | null;

  @Field(() => InvoiceBuyerObject, { nullable: true, description: "The customer's billing details, frozen when it was finalized; null for drafts." })
  buyer!: InvoiceBuyerObject | null;

  @Field(() => Int, { nullable: true, description: 'Days after finalization it falls due; set when finalized.' })
  paymentTermsDays!: number | null;

  @Field(() => Date, { nullable: true, description: "When it falls due: paymentTermsDays calendar days after finalization in the customer's time zone." })
  dueAt!: Date | null;
}

export const InvoiceConnection = connectionType('Invoice', InvoiceObject);

@ObjectType()
export class InvoiceProjection {
  @Field(() => DecimalScalar, { description: 'Share of the period elapsed, 0 to 1.' })
  elapsed!: string;

  @Field(() => DecimalScalar)
  subtotal!: string;

  @Field(() => DecimalScalar)
  tax!: string;

  @Field(() => DecimalScalar)
  total!: string;

  @Field(() => DecimalScalar)
  amountDue!: string;

  @Field(() => String)
  method!: string;
}

@ObjectType()
export class UpcomingInvoice {
  @Field(() => InvoiceObject, { description: 'The invoice as it would be if the period closed now.' })
  invoice!: InvoiceObject;

  @Field(() => InvoiceProjection, { description: 'Projected to the end of the period.' })
  projected!: InvoiceProjection;
}

const toLine = (l: InvoiceLineRecord): InvoiceLineObject => ({ ...l, tiers: l.tiers, adjustments: l.adjustments ?? [] });

export const toInvoiceObject = (i: InvoiceRecord): InvoiceObject => ({
  ...i,
  amountDue: amountRemaining(i),
  amountPaid: atInvoiceScale(i, i.amountPaid),
  amountRefunded: atInvoiceScale(i, i.amountRefunded),
  // A retry date only means something while the invoice is open (a voided one keeps its last).
  nextPaymentAttemptAt: i.status === InvoiceStatus.FINALIZED ? i.nextPaymentAttemptAt : null,
  correctedByInvoiceId: i.correctedBy?.id ?? null,
  precise: i.precise,
  lines: i.lines.map(toLine),
});

export const toProjection = (t: InvoiceTotals, elapsed: string): InvoiceProjection => ({
  elapsed,
  subtotal: t.subtotal,
  tax: t.tax,
  total: t.total,
  amountDue: t.amountDue,
  method: 'usage lines: spent + spent / max(elapsed, one day) × remaining (as currentPeriod); base fees as billed',
});
