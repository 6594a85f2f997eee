import { Migration } from '@mikro-orm/migrations';
import { sqlFunction, sqlTrigger } from '../src/db/sql-files.js';

/**
 * Period line totals: what each customer's billing period adds up to, per priced line, credit
 * block and counter, kept in the transaction that inserts the events, so invoices (upcomingInvoice,
 * period close) read a few rows per period instead of every event.
 *
 * - usage_period_line: per customer, period, currency and line key (a SHA-256 of meter, rule-set
 *   key, version and hash, folded dimension, dimension set, line c, p, ck, adj, tier and unit
 *   price), the sums n, q, a, b, cd (a line's own figures, on its first tier part) and tq, tf,
 *   ta (its tier parts). A UNIQUE_COUNT meter's property is left out of the dimension set and
 *   named in `folded` (its distinct values may be one per user; see the function's header).
 * - usage_period_paid: per customer, period, currency and credit block, the ledger units the
 *   period's events took from it.
 * - usage_period_latest: per customer, period, currency and latest key (meter, rule-set key, c,
 *   ck) of LATEST meters, the last event by (occurred_at, id) with its rule-set version, quantity
 *   and adjustments.
 *
 * A statement-level trigger on usage_event keeps them (src/db/functions/usage_period_line_add.sql).
 * Existing events are backfilled here by the same body, run over usage_event: the trigger
 * is created first, under a lock that holds off every other insert until this migration commits,
 * so each event is counted once, by the backfill or by the trigger.
 */
export class Migration20261201000700PeriodLineTotals extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
lock table usage_event in share row exclusive mode;

create table usage_period_line (
  customer_id uuid not null,
  period_start timestamptz not null,
  currency varchar(32) not null,
  line_key bytea not null,
  meter_code varchar(64) not null,
  rule_set_key varchar(64) not null,
  rule_set_version int not null,
  rule_set_hash char(64) not null,
  folded varchar(64),
  dimensions jsonb not null,
  c text,
  p boolean not null,
  ck text,
  adj jsonb not null,
  tier int,
  unit_price text,
  n bigint not null,
  q numeric not null,
  a numeric not null,
  b numeric not null,
  cd numeric not null,
  tq numeric,
  tf numeric,
  ta numeric,
  primary key (customer_id, period_start, currency, line_key)
);

create table usage_period_paid (
  customer_id uuid not null,
  period_start timestamptz not null,
  currency varchar(32) not null,
  block_id uuid not null,
  units numeric not null,
  primary key (customer_id, period_start, currency, block_id)
);

create table usage_period_latest (
  customer_id uuid not null,
  period_start timestamptz not null,
  currency varchar(32) not null,
  latest_key bytea not null,
  meter_code varchar(64) not null,
  rule_set_key varchar(64) not null,
  c text,
  ck text,
  latest_at timestamptz not null,
  latest_event_id uuid not null,
  rule_set_version int not null,
  quantity numeric not null,
  adj jsonb not null,
  primary key (customer_id, period_start, currency, latest_key)
);
`);
    this.addSql(sqlFunction('usage_period_line_add'));
    this.addSql(sqlTrigger('usage_event_period_line'));
    this.addSql(periodLineBackfill());
  }

  override async down(): Promise<void> {
    this.addSql(`
drop trigger usage_event_period_line on usage_event;
drop function usage_period_line_add();
drop table usage_period_line, usage_period_paid, usage_period_latest;
`);
  }
}

/**
 * The trigger function's body as a DO block over `source` instead of its transition table: the
 * backfill (and a test's rebuild) aggregate exactly as the trigger does, from one definition.
 */
export function periodLineBackfill(source = 'usage_event'): string {
  const body = /\$fn\$\s*([\s\S]*?)\s*return null;\s*end\s*\$fn\$/.exec(sqlFunction('usage_period_line_add'))?.[1];
  if (!body || !/\bnew_events\b/.test(body)) throw new Error('usage_period_line_add.sql: expected a body over new_events that ends with return null');
  return `do $backfill$\n${body.replace(/\bnew_events\b/g, source)}\nend\n$backfill$;`;
}
