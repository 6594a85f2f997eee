import type { EntityManager, Orm } from '../../db/orm.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import { CreditUnit } from './credit-unit.entity.js';

export class CreditUnitRepository {
  private readonly em: EntityManager;

  /** One unit of work: what this instance reads, its flush() writes back. */
  constructor(orm: Orm) {
    this.em = orm.em.fork();
  }

  findByCode(code: string): Promise<CreditUnit | null> {
    return this.em.findOne(CreditUnit, { code });
  }

  /** A page of the credit units by code: keyset on the code, the primary key. */
  async page(req: PageRequest): Promise<Page<CreditUnit>> {
    const rows = await this.em.find(CreditUnit, req.after === undefined ? {} : { code: { $gt: req.after } }, { orderBy: { code: 'asc' }, limit: req.first + 1 });
    return { items: rows.slice(0, req.first), hasNextPage: rows.length > req.first };
  }

  async insert(unit: CreditUnit): Promise<void> {
    await this.em.persistAndFlush(unit);
  }
}
