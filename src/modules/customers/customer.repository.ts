import type { EntityManager, Orm } from '../../db/orm.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import { Customer } from './customer.entity.js';

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

  async page(req: PageRequest): Promise<Page<Customer>> {
    const rows = await this.em.find(Customer, req.after ? { id: { $gt: req.after } } : {}, {
      orderBy: { id: 'asc' },
      limit: req.first + 1,
    });
    return { items: rows.slice(0, req.first), hasNextPage: rows.length > req.first };
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
