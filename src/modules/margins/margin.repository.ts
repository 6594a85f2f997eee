import type { SqlPool } from '../../db/sql.js';
import { isUuid } from '../../shared/ids.js';
import { MarginGroupBy, NO_VALUE, type MarginSums, type MarginWindow } from './margin.record.js';

/** The group key of an event, and what it needs joined (`e` is the event). */
const GROUP_KEYS: Record<MarginGroupBy, { key: string; join: string }> = {
  [MarginGroupBy.MODEL]: { key: `coalesce(e.dimensions->>'model', '${NO_VALUE}')`, join: '' },
  [MarginGroupBy.CUSTOMER]: { key: 'c.external_id', join: 'join customer c on c.id = e.customer_id' },
  // The plan of the subscription in force at the event's time, as usage resolves it.
  [MarginGroupBy.PLAN]: {
    key: `coalesce(sp.code, '${NO_VALUE}')`,
    join: `left join lateral (select p.code from subscription s join plan p on p.id = s.plan_id
                               where s.customer_id = e.customer_id and s.starts_at <= e.occurred_at
                                 and (s.ends_at is null or s.ends_at > e.occurred_at)
                               order by s.starts_at limit 1) sp on true`,
  },
  [MarginGroupBy.DAY]: { key: `to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD')`, join: '' },
};

/**
 * Reads what margins are computed from: per group and currency, the events of a window, what
 * they were charged and what serving them cost, in one statement over the window's partitions.
 */
export class MarginRepository {
  constructor(private readonly sql: SqlPool) {}

  /**
   * Sums in ledger units. An event's cost counts only in its own currency: a cost in another
   * currency (a CREDITS event served at a USD cost) cannot be set against its revenue, and the
   * event counts as uncosted, as does one whose cost is unknown. Without a customer, test clocks'
   * customers are left out: their usage is not revenue.
   */
  async sums(window: MarginWindow): Promise<MarginSums[]> {
    const { key, join } = GROUP_KEYS[window.groupBy];
    const rows = await this.sql.query<{ key: string; currency: string; events: string; revenue: string; cost: string; uncosted: string }>(
      `select ${key} as key, e.currency, count(*)::text as events, sum(e.charged)::text as revenue,
              coalesce(sum(e.cost_units) filter (where e.cost_currency = e.currency), 0)::text as cost,
              (count(*) filter (where e.cost_units is null or e.cost_currency <> e.currency))::text as uncosted
         from usage_event e ${join}
        where e.occurred_at >= $1 and e.occurred_at < $2
          and ($3::uuid is not null and e.customer_id = $3
               or $3::uuid is null and e.customer_id not in (select t.id from customer t where t.test_clock_id is not null))
        group by 1, 2
        order by 1, 2`,
      [window.from, window.to, window.customerId],
    );
    return rows.map((r) => ({
      key: r.key,
      currency: r.currency,
      events: BigInt(r.events),
      revenue: BigInt(r.revenue),
      cost: BigInt(r.cost),
      uncosted: BigInt(r.uncosted),
    }));
  }

  /** A customer's id from its id or external id; null when there is none. */
  async customerId(ref: string): Promise<string | null> {
    const rows = await this.sql.query<{ id: string }>(`select c.id::text from customer c where c.id = $2::uuid or c.external_id = $1 order by c.id = $2::uuid desc limit 1`, [
      ref,
      isUuid(ref) ? ref : null,
    ]);
    return rows[0]?.id ?? null;
  }
}
