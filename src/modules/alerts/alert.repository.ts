import type { SqlClient, SqlPool } from '../../db/sql.js';
import { timestampKey } from '../../db/keyset.js';
import type { Page, PageRequest, TimeIdPosition } from '../../graphql/pagination.js';
import type { AlertDirection, AlertMetric, AlertRecord, RechargeFailurePolicy } from './alert.record.js';

/** A threshold as stored. Numbers are decimal strings; a definition without a customer is a default for new wallets. */
export interface AlertDefinition {
  id: string;
  customerId: string | null;
  walletId: string | null;
  currency: string | null;
  name: string;
  metric: AlertMetric;
  meterCode: string | null;
  direction: AlertDirection;
  threshold: string;
  every: string | null;
  allowance: string | null;
  topUpAmount: string | null;
  topUpTarget: string | null;
  enabled: boolean;
  /** Set on a wallet's auto-recharge (setWalletAutoRecharge): what a failed charge does. */
  rechargeOnFailure: RechargeFailurePolicy | null;
  createdAt: Date;
  updatedAt: Date;
  /** Where the value stood at the last check: the level crossed (-1: none) and the value. */
  state: { level: number; value: string | null; periodStart: Date | null } | null;
}

interface Row {
  id: string;
  customer_id: string | null;
  wallet_id: string | null;
  currency: string | null;
  name: string;
  metric: AlertMetric;
  meter_code: string | null;
  direction: AlertDirection;
  threshold: string;
  every: string | null;
  allowance: string | null;
  top_up_amount: string | null;
  top_up_target: string | null;
  enabled: boolean;
  recharge_on_failure: RechargeFailurePolicy | null;
  created_at: Date;
  updated_at: Date;
  level: number | null;
  value: string | null;
  period_start: Date | null;
}

const toDefinition = (r: Row): AlertDefinition => ({
  id: r.id,
  customerId: r.customer_id,
  walletId: r.wallet_id,
  currency: r.currency,
  name: r.name,
  metric: r.metric,
  meterCode: r.meter_code,
  direction: r.direction,
  threshold: r.threshold,
  every: r.every,
  allowance: r.allowance,
  topUpAmount: r.top_up_amount,
  topUpTarget: r.top_up_target,
  enabled: r.enabled,
  rechargeOnFailure: r.recharge_on_failure,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  state: r.level === null ? null : { level: r.level, value: r.value, periodStart: r.period_start },
});

const SELECT = `
  select d.id, d.customer_id, d.wallet_id, d.currency, d.name, d.metric, d.meter_code, d.direction,
         trim_scale(d.threshold)::text as threshold, trim_scale(d.every)::text as every, trim_scale(d.allowance)::text as allowance,
         trim_scale(d.top_up_amount)::text as top_up_amount, trim_scale(d.top_up_target)::text as top_up_target,
         d.enabled, d.recharge_on_failure, d.created_at, d.updated_at, s.level, trim_scale(s.value)::text as value, s.period_start
    from alert_definition d left join alert_state s on s.definition_id = d.id`;

export class AlertRepository {
  constructor(private readonly sql: SqlPool) {}

  async insert(client: SqlClient, d: Omit<AlertDefinition, 'state'>): Promise<void> {
    await client.query(
      `insert into alert_definition (id, customer_id, wallet_id, currency, name, metric, meter_code, direction, threshold, every,
                                     allowance, top_up_amount, top_up_target, enabled, recharge_on_failure, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [d.id, d.customerId, d.walletId, d.currency, d.name, d.metric, d.meterCode, d.direction, d.threshold, d.every, d.allowance, d.topUpAmount, d.topUpTarget, d.enabled, d.rechargeOnFailure, d.createdAt, d.updatedAt],
    );
  }

  /** Changes what may change; a new threshold or recurrence starts the definition afresh (nothing crossed yet). */
  async update(client: SqlClient, d: AlertDefinition, rearm: boolean): Promise<void> {
    await client.query(
      `update alert_definition set name = $2, threshold = $3, every = $4, allowance = $5, top_up_amount = $6, top_up_target = $7,
              enabled = $8, recharge_on_failure = $10, updated_at = $9 where id = $1`,
      [d.id, d.name, d.threshold, d.every, d.allowance, d.topUpAmount, d.topUpTarget, d.enabled, d.updatedAt, d.rechargeOnFailure],
    );
    if (rearm) await client.query('delete from alert_state where definition_id = $1', [d.id]);
  }

  async remove(client: SqlClient, id: string, at: Date): Promise<boolean> {
    const { rowCount } = await client.query('update alert_definition set deleted_at = $2, enabled = false, updated_at = $2 where id = $1 and deleted_at is null', [id, at]);
    return (rowCount ?? 0) > 0;
  }

  async find(id: string, client?: SqlClient): Promise<AlertDefinition | null> {
    const query = `${SELECT} where d.id = $1 and d.deleted_at is null`;
    const rows = client ? (await client.query<Row>(query, [id])).rows : await this.sql.query<Row>(query, [id]);
    return rows[0] ? toDefinition(rows[0]) : null;
  }

  /**
   * A page of a customer's definitions, or (customerId null) of the defaults for new wallets,
   * oldest first: keyset on (created_at, id), created_at to the microsecond.
   */
  async page(customerId: string | null, after: TimeIdPosition | null, first: number): Promise<Page<{ definition: AlertDefinition; position: TimeIdPosition }>> {
    const rows = await this.sql.query<Row & { position_at: string }>(
      `${SELECT.replace('select d.id,', `select ${timestampKey('d.created_at')} as position_at, d.id,`)}
        where d.customer_id is not distinct from $1::uuid and d.deleted_at is null
          and ($2::timestamptz is null or (d.created_at, d.id) > ($2::timestamptz, $3::uuid))
        order by d.created_at, d.id limit $4`,
      [customerId, after?.at ?? null, after?.id ?? null, first + 1],
    );
    return {
      items: rows.slice(0, first).map((r) => ({ definition: toDefinition(r), position: { at: r.position_at, id: r.id } })),
      hasNextPage: rows.length > first,
    };
  }

  /** Copies the defaults of a currency (and those for any currency) onto a new wallet. */
  async copyDefaults(client: SqlClient, wallet: { id: string; customerId: string; currency: string }, ids: () => string, at: Date): Promise<number> {
    const defaults = (
      await client.query<Row>(`${SELECT} where d.customer_id is null and d.deleted_at is null and d.enabled and (d.currency is null or d.currency = $1) order by d.created_at, d.id`, [wallet.currency])
    ).rows.map(toDefinition);
    for (const d of defaults) {
      await this.insert(client, { ...d, rechargeOnFailure: null, id: ids(), customerId: wallet.customerId, walletId: wallet.id, currency: wallet.currency, createdAt: at, updatedAt: at });
    }
    return defaults.length;
  }

  /** A wallet's auto-recharge (its definition), locked until the transaction ends; null when it has none. */
  async lockAutoRecharge(client: SqlClient, walletId: string): Promise<AlertDefinition | null> {
    const { rows } = await client.query<{ id: string }>(
      'select id from alert_definition where wallet_id = $1 and recharge_on_failure is not null and deleted_at is null for update',
      [walletId],
    );
    return rows[0] ? this.find(rows[0].id, client) : null;
  }

  /** One alert by id, as `alerts` lists it. */
  async alert(id: string): Promise<AlertRecord | null> {
    const rows = await this.sql.query<{ alert: AlertRecord }>('select alert_json(a) as alert from alert a where a.id = $1', [id]);
    return rows[0]?.alert ?? null;
  }

  /** A customer's alerts, newest first. The cursor key is "<created_at ms>|<id>". */
  async alerts(customerId: string, page: PageRequest): Promise<Page<AlertRecord>> {
    const [at, id] = page.after?.split('|') ?? [];
    const after = page.after && at && id ? { at: new Date(Number(at)), id } : null;
    const rows = await this.sql.query<{ alert: AlertRecord }>(
      `select alert_json(a) as alert from alert a
        where a.customer_id = $1 and ($2::timestamptz is null or (a.created_at, a.id) < ($2, $3::uuid))
        order by a.created_at desc, a.id desc limit $4`,
      [customerId, after?.at ?? null, after?.id ?? null, page.first + 1],
    );
    return { items: rows.slice(0, page.first).map((r) => r.alert), hasNextPage: rows.length > page.first };
  }
}

/**
 * Records the threshold crossings of customers' alert definitions against their current values
 * (alert_evaluate in the database), inside the caller's transaction: the crossing commits with
 * the change that caused it, or not at all. Returns the alerts recorded.
 */
export async function evaluateAlerts(client: SqlClient, customerIds: string[], at: Date): Promise<AlertRecord[]> {
  if (customerIds.length === 0) return [];
  const { rows } = await client.query<{ alert: AlertRecord }>('select alert_json(a) as alert from alert_evaluate($1::uuid[], $2) a', [customerIds, at]);
  return rows.map((r) => r.alert);
}

export const alertCursor = (a: AlertRecord): string => `${new Date(a.createdAt).getTime()}|${a.id}`;

/** A wallet's auto-recharge (its definition, with the state of its crossing); null when it has none. */
export async function autoRechargeOf(sql: SqlPool, walletId: string): Promise<AlertDefinition | null> {
  const rows = await sql.query<Row>(`${SELECT} where d.wallet_id = $1 and d.recharge_on_failure is not null and d.deleted_at is null`, [walletId]);
  return rows[0] ? toDefinition(rows[0]) : null;
}

/**
 * Records the alert of an auto-recharge whose charge failed, in the caller's transaction: an
 * alert of the wallet's auto-recharge definition (level 0, its threshold) with the available
 * balance whose crossing asked for the charge, and the amount asked for. No webhook: the caller
 * announces wallet.recharge_failed, which says more.
 */
export async function recordRechargeFailure(client: SqlClient, definitionId: string, r: { name: string; value: string; amount: string; at: Date }): Promise<AlertRecord> {
  const { rows } = await client.query<{ alert: AlertRecord }>(
    `insert into alert as a (id, definition_id, customer_id, wallet_id, name, metric, meter_code, direction, level, threshold, value, period_start, top_up_amount, created_at)
     select gen_random_uuid(), d.id, d.customer_id, d.wallet_id, $2, d.metric, d.meter_code, d.direction, 0, d.threshold, $3::numeric, null, $4::numeric, $5
       from alert_definition d where d.id = $1
     returning alert_json(a) as alert`,
    [definitionId, r.name, r.value, r.amount, r.at],
  );
  return rows[0]!.alert;
}
