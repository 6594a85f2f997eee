import type { SqlClient, SqlPool } from '../../db/sql.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import type { TestClock } from './test-clock.record.js';

interface Row {
  id: string;
  number: string;
  name: string;
  frozen_time: Date;
  customer_count: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, number::text as number, name, frozen_time, created_at, updated_at,
  (select count(*)::int from customer c where c.test_clock_id = test_clock.id) as customer_count`;
const toTestClock = (r: Row): TestClock => ({
  id: r.id,
  number: r.number,
  name: r.name,
  frozenTime: r.frozen_time,
  customerCount: r.customer_count,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class TestClockRepository {
  constructor(private readonly sql: SqlPool) {}

  async insert(clock: Omit<TestClock, 'number' | 'customerCount'>): Promise<TestClock> {
    const [row] = await this.sql.query<Row>(
      `insert into test_clock (id, name, frozen_time, created_at, updated_at) values ($1, $2, $3, $4, $4) returning ${COLUMNS}`,
      [clock.id, clock.name, clock.frozenTime, clock.createdAt],
    );
    return toTestClock(row!);
  }

  async find(id: string, client?: SqlClient): Promise<TestClock | null> {
    const text = `select ${COLUMNS} from test_clock where id = $1`;
    const rows = client ? (await client.query<Row>(text, [id])).rows : await this.sql.query<Row>(text, [id]);
    return rows[0] ? toTestClock(rows[0]) : null;
  }

  /** The clock, locked until the transaction ends: one advance at a time. */
  async lock(client: SqlClient, id: string): Promise<TestClock | null> {
    const { rows } = await client.query<Row>(`select ${COLUMNS} from test_clock where id = $1 for update`, [id]);
    return rows[0] ? toTestClock(rows[0]) : null;
  }

  async setFrozenTime(client: SqlClient, id: string, frozenTime: Date, at: Date): Promise<void> {
    await client.query('update test_clock set frozen_time = $2, updated_at = $3 where id = $1', [id, frozenTime, at]);
  }

  /** Oldest first. */
  async page(req: PageRequest): Promise<Page<TestClock>> {
    const rows = await this.sql.query<Row>(`select ${COLUMNS} from test_clock where $1::uuid is null or id > $1::uuid order by id limit $2`, [req.after ?? null, req.first + 1]);
    return { items: rows.slice(0, req.first).map(toTestClock), hasNextPage: rows.length > req.first };
  }

  /** The ids of the clock's customers, in id order. */
  async customerIds(id: string): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>('select id from customer where test_clock_id = $1 order by id', [id]);
    return rows.map((r) => r.id);
  }

  run<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    return this.sql.transaction(work);
  }
}
