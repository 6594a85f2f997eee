import type { SqlClient } from '../../db/sql.js';
import type { AlertRecord } from './alert.record.js';

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
