import { EntitySchema } from '@mikro-orm/core';

/** What a customer token may do: READ its customer's data (every token), MANAGE its spending cap and alert thresholds. */
export const CustomerTokenScope = { READ: 'READ', MANAGE: 'MANAGE' } as const;
export type CustomerTokenScope = (typeof CustomerTokenScope)[keyof typeof CustomerTokenScope];

/** A short-lived credential scoped to one customer, minted for a frontend: read-only unless minted with MANAGE. */
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
  /** Always holds READ. */
  scopes!: CustomerTokenScope[];
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
    scopes: { type: 'string[]', columnType: 'text[]' },
  },
});
