import { Migration } from '@mikro-orm/migrations';

/**
 * customer_token.scopes: what a customer token may do. READ (every token) reads its customer's
 * data; MANAGE also sets that customer's spending cap and alert thresholds. Tokens minted before
 * had no choice and stay read-only.
 */
export class Migration20261201010000CustomerTokenScopes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table customer_token
  add column scopes text[] not null default '{READ}',
  add constraint customer_token_scopes check ('READ' = any (scopes) and scopes <@ array['READ', 'MANAGE']::text[]);
`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table customer_token drop column scopes;`);
  }
}
