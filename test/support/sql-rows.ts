import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/**
 * The fewest rows the SQL functions need, inserted directly, for tests that call the functions
 * themselves. Amounts in ledger units (1e-9 of the currency) are bigint strings; a unit is
 * 1_000_000_000 of them.
 */

export const UNIT = 1_000_000_000n;

/** Ledger units of `n` whole units of the currency, as PostgreSQL takes a bigint. */
export const units = (n: number | bigint): string => (BigInt(n) * UNIT).toString();

export async function insertCustomer(client: pg.ClientBase, options: { currency?: string; spendingCap?: string | null } = {}): Promise<string> {
  const id = randomUUID();
  await client.query(
    `insert into customer (id, external_id, name, currency, timezone, spending_cap, created_at, updated_at)
     values ($1, $2, 'Test customer', $3, 'UTC', $4, now(), now())`,
    [id, `ext-${id}`, options.currency ?? 'USD', options.spendingCap ?? null],
  );
  return id;
}

export async function insertMeter(client: pg.ClientBase, code: string, aggregation = 'SUM'): Promise<string> {
  const id = randomUUID();
  await client.query(`insert into meter (id, code, name, aggregation, property, created_at) values ($1, $2, $2, $3, null, now())`, [id, code, aggregation]);
  return id;
}

export interface TestWallet {
  id: string;
  main: string;
  grant: string;
}

/** A wallet with an empty MAIN and an empty GRANT block. */
export async function insertWallet(client: pg.ClientBase, customerId: string, options: { currency?: string; limitMode?: string } = {}): Promise<TestWallet> {
  const id = randomUUID();
  const main = randomUUID();
  const grant = randomUUID();
  await client.query(
    `insert into wallet (id, customer_id, currency, limit_mode, created_at, updated_at) values ($1, $2, $3, $4, now(), now())`,
    [id, customerId, options.currency ?? 'USD', options.limitMode ?? 'HARD'],
  );
  await client.query(
    `insert into credit_block (id, wallet_id, kind, priority, created_at) values ($1, $3, 'MAIN', 0, now()), ($2, $3, 'GRANT', 1, now())`,
    [main, grant, id],
  );
  return { id, main, grant };
}

/** One ledger entry (TOP_UP, GRANT: positive; USAGE: negative), which moves the balance. */
export async function book(client: pg.ClientBase, wallet: TestWallet, kind: string, amount: string, block = kind === 'GRANT' ? wallet.grant : wallet.main): Promise<void> {
  await client.query(
    `insert into ledger_entry (wallet_id, credit_block_id, kind, amount, created_at) values ($1, $2, $3, $4, now())`,
    [wallet.id, block, kind, amount],
  );
}

/** A SQL error's code, constraint and hint, for asserting refusals. */
export async function sqlError(promise: Promise<unknown>): Promise<{ code?: string; constraint?: string; hint?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: string; constraint?: string; hint?: string; message: string };
    return { code: e.code, constraint: e.constraint, hint: e.hint, message: e.message };
  }
  throw new Error('expected the statement to be refused');
}

/**
 * Resolves once the backend `pid` waits on a lock (a statement it runs is blocked by another
 * transaction), or once `running`, that statement, settles without having waited.
 */
export async function waitUntilBlocked(client: pg.ClientBase, pid: number, running: Promise<unknown>): Promise<void> {
  let settled = false;
  running.then(() => (settled = true), () => (settled = true));
  while (!settled) {
    const { rows } = await client.query<{ waiting: boolean }>(`select wait_event_type = 'Lock' as waiting from pg_stat_activity where pid = $1`, [pid]);
    if (rows[0]?.waiting) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface TestMeter {
  id: string;
  code: string;
}

/** A meter of any aggregation, with the property it reads (a UNIQUE_COUNT meter needs one). */
export async function insertAggregatedMeter(client: pg.ClientBase, code: string, aggregation: string, property: string | null = null): Promise<TestMeter> {
  const id = randomUUID();
  await client.query(`insert into meter (id, code, name, aggregation, property, created_at) values ($1, $2, $2, $3, $4, now())`, [id, code, aggregation, property]);
  return { id, code };
}

/** A usage event as the usage service hands it to usage_commit. */
export type UsageEventRow = Record<string, unknown> & { id: string };

/**
 * A priced event of `meter` as the usage service hands it to usage_commit (postpaid unless a
 * wallet and allocations are given); charged and allocations in ledger units.
 */
export function usageEventRow(
  customerId: string,
  meter: TestMeter,
  options: {
    key?: string;
    quantity?: string;
    occurredAt?: string;
    periodStart?: string;
    dimensions?: Record<string, string>;
    charged?: number;
    wallet?: TestWallet;
    allocations?: Array<[string, number]>;
    createdAt?: string;
  } = {},
): UsageEventRow {
  const charged = options.charged ?? 0;
  return {
    id: randomUUID(), customer_id: customerId, idempotency_key: options.key ?? randomUUID(), request_hash: 'a'.repeat(64), meter_id: meter.id,
    meter_code: meter.code, quantity: options.quantity ?? '1', occurred_at: options.occurredAt ?? '2026-12-05T10:03:00Z',
    dimensions: options.dimensions ?? {}, values: {}, period_start: options.periodStart ?? '2026-12-01T00:00:00Z', currency: 'USD',
    wallet_id: options.wallet?.id ?? null, amount: String(charged), charged: units(charged), rule_set_key: meter.code, rule_set_version: 1,
    rule_set_hash: 'b'.repeat(64), fired_rules: [], lines: [], allocations: (options.allocations ?? []).map(([block, n]) => [block, units(n)]),
    soft_limit_exceeded: false, available_after: null, reservation_id: null, created_at: options.createdAt ?? '2026-12-05T10:30:00Z',
  };
}

/** Commits events with usage_commit at `at`: its rows, one per event, with the notice on each customer's first. */
export async function commitUsage(
  client: pg.ClientBase,
  events: UsageEventRow[],
  at: string,
  batch = randomUUID(),
): Promise<Array<{ event_id: string; inserted: boolean; balance_after: string | null; version: string; notice: Record<string, any> | null }>> {
  return (await client.query(`select * from usage_commit($1::jsonb, $2, $3)`, [JSON.stringify(events), batch, at])).rows;
}
