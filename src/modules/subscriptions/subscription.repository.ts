import { LockMode } from '@mikro-orm/core';
import type { EntityManager, Orm } from '../../db/orm.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import { Subscription } from './subscription.entity.js';

export class SubscriptionRepository {
  private readonly em: EntityManager;

  /** One unit of work: what this instance reads, its flush() writes back. */
  constructor(orm: Orm) {
    this.em = orm.em.fork();
  }

  forCustomer(customerId: string): Promise<Subscription[]> {
    return this.em.find(Subscription, { customerId }, { orderBy: { startsAt: 'asc' } });
  }

  get(id: string): Promise<Subscription | null> {
    return this.em.findOne(Subscription, { id });
  }

  /** Applies changes to a subscription and inserts its successor (if any) in one transaction. */
  async replace(id: string, changes: Partial<Subscription>, next: Subscription | null): Promise<void> {
    await this.em.transactional(async (em) => {
      const row = await em.findOneOrFail(Subscription, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (row.endsAt) throw new AppError(ErrorCode.CONFLICT, 'the subscription was changed meanwhile; read it again');
      em.assign(row, changes);
      if (next) em.persist(next);
    });
  }

  async insert(subscription: Subscription): Promise<void> {
    await this.em.persistAndFlush(subscription);
  }
}
