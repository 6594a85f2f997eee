import { StringDecoder } from 'node:string_decoder';
import type pg from 'pg';
import { to as copyTo, type CopyToStreamQuery } from 'pg-copy-streams';
import type { SqlClient, SqlPool } from '../../db/sql.js';
import { SIMULATION_BATCH, SIMULATION_WORK_MEM, type SimulationCustomer, type SimulationEventRow, type SimulationMeter, type SimulationWindow } from './simulation.record.js';

/**
 * Reads what a price simulation re-rates: the recorded events of a window, streamed in one
 * read-only snapshot so that memory stays flat however many there are.
 */
export class SimulationRepository {
  constructor(private readonly sql: SqlPool) {}

  /**
   * Streams the window's events, ordered by customer, occurrence and id (so by period too), in batches of
   * SIMULATION_BATCH, with the customers and meters they need. Events of a period that began
   * before `from` are read from the period's start (so its counters are rebuilt); the caller
   * leaves those before `from` out of its figures. `statementTimeoutMs` bounds each statement,
   * the stream included. `onStart` runs before the first batch of each attempt: a transaction
   * that is rerun (a replica that fell behind, a serialization failure) streams again from the
   * start, and what the caller added up must start again with it.
   *
   * The events come through `COPY … TO STDOUT` rather than a cursor: PostgreSQL sends rows
   * without a round trip per batch, and each row is one line of text split at its tabs, which
   * costs a third of what parsing the cursor's row messages does.
   */
  async stream(
    window: SimulationWindow,
    statementTimeoutMs: number | null,
    onBatch: (rows: SimulationEventRow[], customers: Map<string, SimulationCustomer>, meters: Map<string, SimulationMeter>) => Promise<void>,
    onStart: () => void = () => undefined,
  ): Promise<void> {
    await this.sql.transaction(
      async (client) => {
        onStart();
        if (statementTimeoutMs !== null) await client.query(`set local statement_timeout = ${Math.trunc(statementTimeoutMs)}`);
        // The sort by customer and time stays in memory for a few million events.
        await client.query(`set local work_mem = '${SIMULATION_WORK_MEM}'`);
        // Timestamps come as text in UTC ("2026-03-01 12:00:00.5+00"); a JIT compile costs more than it saves here.
        await client.query(`set local timezone = 'UTC'`);
        await client.query('set local jit = off');
        // Read in order along usage_event_customer_time rather than sorting the window first: the
        // rows then flow from the first one, and PostgreSQL reads while they are rated, where a
        // sort would hold every row back until the last one is read.
        await client.query('set local enable_sort = off');
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
        // The customers, read before the stream: the connection is the stream's until it ends.
        const customers = new Map((await customersOf(client, lookFrom, window)).map((c) => [c.id, c]));
        // COPY takes no parameters: the statement reads them from settings local to this transaction.
        await client.query(
          `select set_config('billing.simulation_look_from', $1, true), set_config('billing.simulation_to', $2, true),
                  set_config('billing.simulation_from', $3, true), set_config('billing.simulation_starts', $4, true),
                  set_config('billing.simulation_customers', $5, true)`,
          [lookFrom.toISOString(), window.to.toISOString(), window.from.toISOString(), `{${starts.map((s) => s.toISOString()).join(',')}}`, window.customerIds ? `{${window.customerIds.join(',')}}` : ''],
        );
        const query: CopyToStreamQuery & PgQueryTimer = copyTo(
          `copy (select customer_id, period_start, occurred_at, meter_code, quantity, dimensions, "values", rule_set_key, currency, charged
                   from usage_event
                  where occurred_at >= current_setting('billing.simulation_look_from')::timestamptz
                    and occurred_at < current_setting('billing.simulation_to')::timestamptz
                    and (current_setting('billing.simulation_customers') = '' or customer_id = any(nullif(current_setting('billing.simulation_customers'), '')::uuid[]))
                    and (occurred_at >= current_setting('billing.simulation_from')::timestamptz
                         or period_start = any(current_setting('billing.simulation_starts')::timestamptz[]))
                  order by customer_id, occurred_at, id) to stdout`,
        );
        // pg arms a read timer for each query it sends (the pool's query_timeout, meant for short
        // statements) and clears it in the query's callback, which a COPY stream never calls: the
        // stream gets the statement's own bound, and its timer is cleared once it has ended.
        query.query_timeout = statementTimeoutMs === null ? MAX_TIMER_MS : statementTimeoutMs + 5_000;
        const copy = (client as pg.PoolClient).query(query);
        copy.on('error', () => undefined); // surfaced by the iteration in readCopy
        try {
          await readCopy(copy, async (rows) => onBatch(rows, customers, meters));
        } finally {
          query.callback?.(null);
        }
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


/** The customers with events in [lookFrom, window.to) (of the window's customers, when it names them), with their plans over time. */
async function customersOf(client: SqlClient, lookFrom: Date, window: SimulationWindow): Promise<SimulationCustomer[]> {
  const rows = await client.query<{ id: string; external_id: string; metadata: Record<string, string>; plans: Array<{ s: string; e: string | null; c: string; v: number }> }>(
    `select c.id::text, c.external_id, c.metadata,
            coalesce((select jsonb_agg(jsonb_build_object('s', s.starts_at, 'e', s.ends_at, 'c', p.code, 'v', p.version))
                        from subscription s join plan p on p.id = s.plan_id where s.customer_id = c.id), '[]') as plans
       from customer c
      where ($3::uuid[] is null or c.id = any($3))
        and exists (select 1 from usage_event e where e.customer_id = c.id and e.occurred_at >= $1 and e.occurred_at < $2)`,
    [lookFrom, window.to, window.customerIds],
  );
  return rows.rows.map((r) => ({
    id: r.id,
    externalId: r.external_id,
    metadata: r.metadata,
    plans: r.plans.map((p) => ({ startsAt: Date.parse(p.s), endsAt: p.e === null ? null : Date.parse(p.e), code: p.c, version: p.v })),
  }));
}

/** What pg sets on a query it sends: the read timeout it arms, and the callback that clears it. */
interface PgQueryTimer {
  query_timeout?: number;
  callback?: (err: Error | null) => void;
}

/** The longest timer Node.js keeps (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** COPY's text format escapes a backslash, and the control characters a value may hold, with a backslash. */
const ESCAPED = /\\([\\bfnrtv])/g;
const UNESCAPED: Record<string, string> = { '\\': '\\', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** One line of COPY's text format as its fields (every column of the stream is NOT NULL). */
export function copyFields(line: string): string[] {
  const fields = line.split('\t');
  for (let i = 0; i < fields.length; i++) if (fields[i]!.includes('\\')) fields[i] = fields[i]!.replace(ESCAPED, (_, c: string) => UNESCAPED[c]!);
  return fields;
}

/**
 * Reads a COPY stream into batches of SIMULATION_BATCH rows. A batch is handed on while the
 * socket keeps receiving, so PostgreSQL sorts and sends while the rows are rated. When handling
 * a batch fails, the rest of the stream is read and dropped (the connection cannot run another
 * statement before the COPY ends) and the failure is thrown.
 */
async function readCopy(stream: NodeJS.ReadableStream, onBatch: (rows: SimulationEventRow[]) => Promise<void>): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let rows: SimulationEventRow[] = [];
  let failure: { error: unknown } | null = null;
  for await (const chunk of stream) {
    if (failure) continue;
    const text = rest + decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      rows.push(copyFields(text.slice(start, nl)) as SimulationEventRow);
      start = nl + 1;
    }
    rest = text.slice(start);
    if (rows.length >= SIMULATION_BATCH) {
      try {
        await onBatch(rows);
      } catch (error) {
        failure = { error };
      }
      rows = [];
    }
  }
  if (failure) throw failure.error;
  if (rows.length > 0) await onBatch(rows);
}
