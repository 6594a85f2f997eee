import { LockMode } from '@mikro-orm/core';
import type { EntityManager, Orm } from '../../db/orm.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import type { WebhookEmission } from '../webhooks/index.js';
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

  /** A page of a customer's subscriptions, oldest first: keyset on (starts_at, id). */
  async page(customerId: string, after: { startsAt: Date; id: string } | null, first: number): Promise<Page<Subscription>> {
    const where = after === null ? { customerId } : { customerId, $or: [{ startsAt: { $gt: after.startsAt } }, { startsAt: after.startsAt, id: { $gt: after.id } }] };
    const rows = await this.em.find(Subscription, where, { orderBy: [{ startsAt: 'asc' }, { id: 'asc' }], limit: first + 1 });
    return { items: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  get(id: string): Promise<Subscription | null> {
    return this.em.findOne(Subscription, { id });
  }

  /**
   * Applies changes to a subscription and inserts its successor (if any) in one transaction, which
   * announces the change to webhooks.
   */
  async replace(id: string, changes: Partial<Subscription>, next: Subscription | null, announce: WebhookEmission): Promise<void> {
    await this.em.transactional(async (em) => {
      const row = await em.findOneOrFail(Subscription, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (row.endsAt) throw new AppError(ErrorCode.CONFLICT, 'the subscription was changed meanwhile; read it again');
      em.assign(row, changes);
      if (next) em.persist(next);
      await em.flush();
      await emit(em, announce);
    });
  }

  /** Inserts a subscription and announces it to webhooks, in one transaction. */
  async insert(subscription: Subscription, announce: WebhookEmission): Promise<void> {
    await this.em.transactional(async (em) => {
      em.persist(subscription);
      await em.flush();
      await emit(em, announce);
    });
  }
}

/** webhook_emit on the ORM's connection, in its transaction (the webhooks module's emission API in SQL). */
async function emit(em: EntityManager, e: WebhookEmission): Promise<void> {
  await em.execute('select webhook_emit(?, ?::uuid, ?::jsonb, ?::timestamptz)', [e.topic, e.eventId, JSON.stringify(e.data), e.at.toISOString()]);
}
