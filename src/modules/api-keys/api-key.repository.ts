import type { EntityManager, Orm } from '../../db/orm.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import { ApiKey } from './api-key.entity.js';

export class ApiKeyRepository {
  private readonly em: EntityManager;

  /** One unit of work: what this instance reads, its flush() writes back. */
  constructor(orm: Orm) {
    this.em = orm.em.fork();
  }

  findById(id: string): Promise<ApiKey | null> {
    return this.em.findOne(ApiKey, { id });
  }

  findBySecretHash(secretHash: Buffer): Promise<ApiKey | null> {
    return this.em.findOne(ApiKey, { secretHash });
  }

  /** Of these ids, the keys neither revoked nor expired at `now`. */
  async validAmong(ids: string[], now: Date): Promise<Set<string>> {
    const rows = await this.em.find(ApiKey, { id: { $in: ids }, revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] }, { fields: ['id'] });
    return new Set(rows.map((k) => k.id));
  }

  async count(): Promise<number> {
    return this.em.count(ApiKey, {});
  }

  async page(req: PageRequest): Promise<Page<ApiKey>> {
    const rows = await this.em.find(ApiKey, req.after ? { id: { $gt: req.after } } : {}, {
      orderBy: { id: 'asc' },
      limit: req.first + 1,
    });
    return { items: rows.slice(0, req.first), hasNextPage: rows.length > req.first };
  }

  async insert(key: ApiKey): Promise<void> {
    await this.em.persistAndFlush(key);
  }

  async flush(): Promise<void> {
    await this.em.flush();
  }
}
