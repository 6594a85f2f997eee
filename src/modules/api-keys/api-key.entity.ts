import { EntitySchema } from '@mikro-orm/core';
import type { Role } from './principal.pure.js';

export class ApiKey {
  id!: string;
  name!: string;
  role!: Role;
  customerId!: string | null;
  /** The first characters of the secret, shown in listings so a key can be recognised. */
  prefix!: string;
  /** SHA-256 of the secret; the secret itself is never stored. */
  secretHash!: Buffer;
  createdAt!: Date;
  expiresAt!: Date | null;
  revokedAt!: Date | null;
}

export const ApiKeySchema = new EntitySchema<ApiKey>({
  class: ApiKey,
  tableName: 'api_key',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'string', length: 200 },
    role: { type: 'string', length: 16 },
    customerId: { type: 'uuid', nullable: true },
    prefix: { type: 'string', length: 16 },
    secretHash: { type: 'Buffer', columnType: 'bytea', lazy: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    expiresAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});
