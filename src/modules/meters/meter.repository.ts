import type { EntityManager, Orm } from '../../db/orm.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import { Meter } from './meter.entity.js';

export class MeterRepository {
  private readonly em: EntityManager;

  /** One unit of work: what this instance reads, its flush() writes back. */
  constructor(orm: Orm) {
    this.em = orm.em.fork();
  }

  findByCode(code: string): Promise<Meter | null> {
    return this.em.findOne(Meter, { code });
  }

  findByCodes(codes: string[]): Promise<Meter[]> {
    return this.em.find(Meter, { code: { $in: codes } });
  }

  findByIds(ids: string[]): Promise<Meter[]> {
    return this.em.find(Meter, { id: { $in: ids } });
  }

  async page(req: PageRequest): Promise<Page<Meter>> {
    const rows = await this.em.find(Meter, req.after ? { code: { $gt: req.after } } : {}, {
      orderBy: { code: 'asc' },
      limit: req.first + 1,
    });
    return { items: rows.slice(0, req.first), hasNextPage: rows.length > req.first };
  }

  async insert(meter: Meter): Promise<void> {
    await this.em.persistAndFlush(meter);
  }
}
