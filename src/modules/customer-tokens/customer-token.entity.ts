import { EntitySchema } from '@mikro-orm/core';

/** A short-lived, read-only credential scoped to one customer, minted for a frontend. */
export class CustomerToken {
  id!: string;
  customerId!: string;
  /** The first characters of the token, for logs and support. */
  prefix!: string;
  /** SHA-256 of the token; the token itself is never stored. */
  secretHash!: Buffer;
  /** The ADMIN key that minted it. */
  createdByKeyId!: string | null;
  createdAt!: Date;
  expiresAt!: Date;
  revokedAt!: Date | null;
}

export const CustomerTokenSchema = new EntitySchema<CustomerToken>({
  class: CustomerToken,
  tableName: 'customer_token',
  properties: {
    id: { type: 'uuid', primary: true },
    customerId: { type: 'uuid' },
    prefix: { type: 'string', length: 16 },
    secretHash: { type: 'Buffer', columnType: 'bytea', lazy: true },
    createdByKeyId: { type: 'uuid', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    expiresAt: { type: 'Date', columnType: 'timestamptz' },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});
