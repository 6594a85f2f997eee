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
