import type { EntityManager } from '../../db/orm.js';
import { Subscription } from './subscription.entity.js';

export class SubscriptionRepository {
  constructor(private readonly em: EntityManager) {}

  forCustomer(customerId: string): Promise<Subscription[]> {
    return this.em.find(Subscription, { customerId }, { orderBy: { startsAt: 'asc' } });
  }

  async insert(subscription: Subscription): Promise<void> {
    await this.em.persistAndFlush(subscription);
  }
}
