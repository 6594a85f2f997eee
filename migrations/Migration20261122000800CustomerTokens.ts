import { Migration } from '@mikro-orm/migrations';

/**
 * Customer tokens: short-lived, read-only credentials scoped to one customer, minted by an ADMIN
 * key for a frontend. Stored as SHA-256 digests like API keys. Expired tokens are deleted a day
 * after they expire (when the customer next gets one), so the index on (customer_id, expires_at)
 * serves that delete.
 */
export class Migration20261122000800CustomerTokens extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table customer_token (
  id uuid primary key,
  customer_id uuid not null references customer (id),
  prefix varchar(16) not null,
  secret_hash bytea not null constraint customer_token_secret_hash_key unique,
  created_by_key_id uuid references api_key (id),
  created_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  constraint customer_token_lifetime check (expires_at > created_at)
);

create index customer_token_customer_expiry on customer_token (customer_id, expires_at);
`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table customer_token;`);
  }
}
