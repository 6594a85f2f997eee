import type { EntityManager, Orm } from '../../db/orm.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import { Customer } from './customer.entity.js';

/** A test clock as its customers see it. */
export interface CustomerClock {
  id: string;
  /** The clock's mark in its customers' invoice numbers. */
  number: string;
  frozenTime: Date;
}

export class CustomerRepository {
  private readonly em: EntityManager;

  /** One unit of work: what this instance reads, its flush() writes back. */
  constructor(orm: Orm) {
    this.em = orm.em.fork();
  }

  findById(id: string): Promise<Customer | null> {
    return this.em.findOne(Customer, { id });
  }

  findByExternalId(externalId: string): Promise<Customer | null> {
    return this.em.findOne(Customer, { externalId });
  }

  /** Live customers, or with a test clock's id the customers on that clock. */
  async page(req: PageRequest, testClockId: string | null = null): Promise<Page<Customer>> {
    const rows = await this.em.find(Customer, { testClockId, ...(req.after ? { id: { $gt: req.after } } : {}) }, {
      orderBy: { id: 'asc' },
      limit: req.first + 1,
    });
    return { items: rows.slice(0, req.first), hasNextPage: rows.length > req.first };
  }

  /** The test clock a customer lives on: its time and its mark in invoice numbers. */
  async testClock(id: string): Promise<CustomerClock | null> {
    const rows = await this.em.getConnection().execute<Array<{ id: string; number: string; frozen_time: Date }>>('select id, number::text as number, frozen_time from test_clock where id = ?', [id]);
    const row = rows[0];
    return row ? { id: row.id, number: row.number, frozenTime: new Date(row.frozen_time) } : null;
  }

  async taxRateExists(code: string): Promise<boolean> {
    const rows = await this.em.getConnection().execute<Array<{ n: number }>>('select 1 as n from tax_rate where code = ?', [code]);
    return rows.length > 0;
  }

  async insert(customer: Customer): Promise<void> {
    await this.em.persistAndFlush(customer);
  }

  async flush(): Promise<void> {
    await this.em.flush();
  }
}
