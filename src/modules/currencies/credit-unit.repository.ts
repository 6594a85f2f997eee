import type { EntityManager, Orm } from '../../db/orm.js';
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

  list(): Promise<CreditUnit[]> {
    return this.em.find(CreditUnit, {}, { orderBy: { code: 'asc' } });
  }

  async insert(unit: CreditUnit): Promise<void> {
    await this.em.persistAndFlush(unit);
  }
}
