import type { EntityManager, Orm } from '../../db/orm.js';
import { CustomerToken } from './customer-token.entity.js';

export class CustomerTokenRepository {
  private readonly em: EntityManager;

  /** One unit of work: what this instance reads, its flush() writes back. */
  constructor(orm: Orm) {
    this.em = orm.em.fork();
  }

  findById(id: string): Promise<CustomerToken | null> {
    return this.em.findOne(CustomerToken, { id });
  }

  findBySecretHash(secretHash: Buffer): Promise<CustomerToken | null> {
    return this.em.findOne(CustomerToken, { secretHash });
  }

  /** Of these ids, the tokens neither revoked nor expired at `now`. */
  async validAmong(ids: string[], now: Date): Promise<Set<string>> {
    const rows = await this.em.find(CustomerToken, { id: { $in: ids }, revokedAt: null, expiresAt: { $gt: now } }, { fields: ['id'] });
    return new Set(rows.map((t) => t.id));
  }

  async insert(token: CustomerToken): Promise<void> {
    await this.em.persistAndFlush(token);
  }

  /** Deletes a customer's tokens that expired before `before`: they can never authenticate again. */
  async deleteExpired(customerId: string, before: Date): Promise<number> {
    return this.em.nativeDelete(CustomerToken, { customerId, expiresAt: { $lt: before } });
  }

  async flush(): Promise<void> {
    await this.em.flush();
  }
}
