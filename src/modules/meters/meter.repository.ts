import type { EntityManager } from '../../db/orm.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import { Meter } from './meter.entity.js';

export class MeterRepository {
  constructor(private readonly em: EntityManager) {}

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
