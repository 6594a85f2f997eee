import type { SqlClient, SqlPool } from '../../db/sql.js';
import { SIMULATION_BATCH, SIMULATION_WORK_MEM, type SimulationCustomer, type SimulationEventRow, type SimulationMeter, type SimulationWindow } from './simulation.record.js';

/**
 * Reads what a price simulation re-rates: the recorded events of a window, streamed through a
 * server-side cursor in one read-only snapshot so that memory stays flat however many there are.
 */
export class SimulationRepository {
  constructor(private readonly sql: SqlPool) {}

  /**
   * Streams the window's events, ordered by customer, occurrence and id (so by period too), in batches of
   * SIMULATION_BATCH, with the customers and meters they need. Events of a period that began
   * before `from` are read from the period's start (so its counters are rebuilt); the caller
   * leaves those before `from` out of its figures. `statementTimeoutMs` bounds each statement.
   */
  async stream(
    window: SimulationWindow,
    statementTimeoutMs: number | null,
    onBatch: (rows: SimulationEventRow[], customers: Map<string, SimulationCustomer>, meters: Map<string, SimulationMeter>) => Promise<void>,
  ): Promise<void> {
    await this.sql.transaction(
      async (client) => {
        if (statementTimeoutMs !== null) await client.query(`set local statement_timeout = ${Math.trunc(statementTimeoutMs)}`);
        // The sort by customer and time stays in memory for a few million events.
        await client.query(`set local work_mem = '${SIMULATION_WORK_MEM}'`);
        // Timestamps come as text in UTC ("2026-03-01 12:00:00.5+00"); a JIT compile costs more than it saves here.
        await client.query(`set local timezone = 'UTC'`);
        await client.query('set local jit = off');
        const meters = new Map(
          (await client.query<{ code: string; aggregation: SimulationMeter['aggregation']; property: string | null }>('select code, aggregation, property from meter')).rows.map((m) => [
            m.code,
            { aggregation: m.aggregation, property: m.property },
          ]),
        );
        // The periods that began before the window and have events in it: read from their start.
        const open = await client.query<{ period_start: Date }>(
          `select distinct period_start from usage_event
            where occurred_at >= $1 and occurred_at < $2 and period_start < $1 and ($3::uuid[] is null or customer_id = any($3))`,
          [window.from, window.to, window.customerIds],
        );
        const starts = open.rows.map((r) => r.period_start);
        const lookFrom = starts.reduce((min, s) => (s < min ? s : min), window.from);
        await client.query(
          `declare simulation no scroll cursor for
           select customer_id, period_start, occurred_at, meter_code, quantity, dimensions, "values", rule_set_key, currency, charged
             from usage_event
            where occurred_at >= $1 and occurred_at < $2 and ($3::uuid[] is null or customer_id = any($3))
              and (occurred_at >= $4 or period_start = any($5::timestamptz[]))
            order by customer_id, occurred_at, id`,
          [lookFrom, window.to, window.customerIds, window.from, starts],
        );
        const customers = new Map<string, SimulationCustomer>();
        // Every column as its text: the rating parses what it reads, and nothing else is parsed.
        const fetch = () => client.query({ text: `fetch ${SIMULATION_BATCH} from simulation`, rowMode: 'array', types: { getTypeParser: () => asText } });
        // The next batch is asked for before this one is rated: PostgreSQL reads while rating runs.
        let next: ReturnType<typeof fetch> | null = fetch();
        while (next) {
          const rows = (await next).rows as SimulationEventRow[];
          next = rows.length === SIMULATION_BATCH ? fetch() : null;
          if (rows.length === 0) break;
          // Rows come by customer: keep only the customers of this batch.
          const ids = new Set(rows.map((r) => r[0]));
          for (const id of customers.keys()) if (!ids.has(id)) customers.delete(id);
          const missing = [...ids].filter((id) => !customers.has(id));
          if (missing.length > 0) for (const c of await customersOf(client, missing)) customers.set(c.id, c);
          await onBatch(rows, customers, meters);
        }
        await client.query('close simulation');
      },
      { snapshot: true },
    );
  }

  /** The ids of customers by id or external id (unknown ones are left out). */
  async customerIds(refs: string[]): Promise<Array<{ ref: string; id: string }>> {
    const rows = await this.sql.query<{ ref: string; id: string }>(
      `select r.ref, c.id::text from unnest($1::text[]) r(ref) join customer c on c.external_id = r.ref or c.id::text = r.ref`,
      [refs],
    );
    return rows;
  }
}

const asText = (value: string): string => value;

async function customersOf(client: SqlClient, ids: string[]): Promise<SimulationCustomer[]> {
  const rows = await client.query<{ id: string; external_id: string; metadata: Record<string, string>; plans: Array<{ s: string; e: string | null; c: string; v: number }> }>(
    `select c.id::text, c.external_id, c.metadata,
            coalesce((select jsonb_agg(jsonb_build_object('s', s.starts_at, 'e', s.ends_at, 'c', p.code, 'v', p.version))
                        from subscription s join plan p on p.id = s.plan_id where s.customer_id = c.id), '[]') as plans
       from customer c where c.id = any($1::uuid[])`,
    [ids],
  );
  return rows.rows.map((r) => ({
    id: r.id,
    externalId: r.external_id,
    metadata: r.metadata,
    plans: r.plans.map((p) => ({ startsAt: Date.parse(p.s), endsAt: p.e === null ? null : Date.parse(p.e), code: p.c, version: p.v })),
  }));
}
