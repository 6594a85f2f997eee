import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { InvoiceObject } from './invoice.object.js';

@InputType()
export class VoidInvoiceInput {
  @Field(() => ID)
  invoiceId!: string;

  @Field(() => String)
  reason!: string;

  @Field(() => Boolean, { defaultValue: false, description: 'Issue a corrected invoice for the same period from the current data.' })
  reissue!: boolean;
}

@ObjectType()
export class VoidInvoicePayload {
  @Field(() => InvoiceObject)
  voided!: InvoiceObject;

  @Field(() => InvoiceObject, { nullable: true })
  corrected!: InvoiceObject | null;
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

@InputType()
export class CloseInvoicesInput {
  @Field(() => Date, { nullable: true, description: 'Close as of this instant; now when absent.' })
  at?: Date | null;
}

@ObjectType()
export class CloseInvoicesPayload {
  @Field(() => Int)
  customers!: number;

  @Field(() => Int)
  drafted!: number;

  @Field(() => [ID], { description: 'Invoices finalized by this run.' })
  finalized!: string[];

  @Field(() => Int)
  failed!: number;
}
