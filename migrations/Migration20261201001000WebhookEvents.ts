import { Migration } from '@mikro-orm/migrations';
import { sqlFunction } from '../src/db/sql-files.js';

/**
 * Webhooks to the Standard Webhooks specification, with an event log to replay from.
 *
 * - webhook_event: every announced event, once (id, topic, data, when it happened), written by
 *   webhook_emit in the transaction of the change (src/db/functions/webhook_emit.sql). It starts
 *   with the events already delivered, one row per event id.
 * - webhook_delivery.replay_id: a delivery written by replayWebhookEvents sends an event again to
 *   one endpoint; an event reaches an endpoint once with the change (replay_id null) and once per
 *   replay, so webhook_delivery_once becomes two partial unique indexes.
 * - webhook_endpoint: Standard Webhooks libraries read the key as the base64 after `whsec_`. The
 *   secrets made so far are base64url of 32 random bytes; they become the standard base64 of the
 *   same bytes (`-` to `+`, `_` to `/`, `=` padding), so the key stays the one the receiver was
 *   given. previous_secret signs too until previous_secret_expires_at, after a rotation.
 */
export class Migration20261201001000WebhookEvents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table webhook_event (
  id uuid primary key,
  topic varchar(64) not null,
  data jsonb not null,
  occurred_at timestamptz not null
);
create index webhook_event_occurred on webhook_event (occurred_at);

insert into webhook_event (id, topic, data, occurred_at)
select distinct on (event_id) event_id, topic, payload, created_at from webhook_delivery order by event_id, created_at;

alter table webhook_delivery add column replay_id uuid;
alter table webhook_delivery drop constraint webhook_delivery_once;
create unique index webhook_delivery_once on webhook_delivery (endpoint_id, event_id) where replay_id is null;
create unique index webhook_delivery_replayed on webhook_delivery (replay_id, event_id) where replay_id is not null;

update webhook_endpoint
   set secret = 'whsec_' || rpad(translate(substr(secret, 7), '-_', '+/'), ((length(secret) - 6 + 3) / 4) * 4, '=')
 where secret ~ '^whsec_[A-Za-z0-9_-]+$';
alter table webhook_endpoint
  add column previous_secret varchar(128),
  add column previous_secret_expires_at timestamptz,
  add constraint webhook_endpoint_secret_format check (secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$'),
  add constraint webhook_endpoint_previous_secret check (
    (previous_secret is null) = (previous_secret_expires_at is null) and (previous_secret is null or previous_secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$'));
`);
    this.addSql(sqlFunction('webhook_emit'));
  }

  override async down(): Promise<void> {
    this.addSql(`
drop function webhook_emit(text, uuid, jsonb, timestamptz);
alter table webhook_endpoint drop constraint webhook_endpoint_previous_secret, drop constraint webhook_endpoint_secret_format,
  drop column previous_secret_expires_at, drop column previous_secret;
delete from webhook_attempt where delivery_id in (select id from webhook_delivery where replay_id is not null);
delete from webhook_delivery where replay_id is not null;
drop index webhook_delivery_replayed;
drop index webhook_delivery_once;
alter table webhook_delivery drop column replay_id, add constraint webhook_delivery_once unique (endpoint_id, event_id);
drop table webhook_event;
`);
  }
}
