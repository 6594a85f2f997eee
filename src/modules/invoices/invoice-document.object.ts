import { Field, ObjectType } from 'type-graphql';
import { PostalAddressObject } from '../customers/index.js';

@ObjectType('InvoiceSeller', { description: 'Who issued the invoice, as configured (SELLER_*) when it was finalized.' })
export class InvoiceSellerObject {
  @Field(() => String)
  name!: string;

  @Field(() => [String], { description: 'The postal address, one entry per line.' })
  address!: string[];

  @Field(() => String, { nullable: true })
  taxId!: string | null;

  @Field(() => String, { nullable: true })
  email!: string | null;
}

@ObjectType('InvoiceBuyer', { description: "The customer's billing details (or its name) when the invoice was finalized." })
export class InvoiceBuyerObject {
  @Field(() => String)
  legalName!: string;

  @Field(() => String, { nullable: true })
  email!: string | null;

  @Field(() => PostalAddressObject, { nullable: true })
  address!: PostalAddressObject | null;

  @Field(() => String, { nullable: true })
  taxId!: string | null;

  @Field(() => String)
  externalId!: string;

  @Field(() => String, { description: "The customer's time zone then; the invoice's dates are printed in it." })
  timeZone!: string;
}

@ObjectType('InvoiceLink', { description: 'Links that open one invoice in a browser without credentials until they expire.' })
export class InvoiceLinkObject {
  @Field(() => String, { description: 'The printable page (absolute with PUBLIC_URL, else a path from the server root).' })
  html!: string;

  @Field(() => String, { description: 'The PDF.' })
  pdf!: string;

  @Field(() => Date)
  expiresAt!: Date;
}
