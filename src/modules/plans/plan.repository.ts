import type { EntityManager, Orm } from '../../db/orm.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import { Plan, PlanCharge } from './plan.entity.js';

export class PlanRepository {
  private readonly em: EntityManager;

  /** One unit of work: what this instance reads, its flush() writes back. */
  constructor(orm: Orm) {
    this.em = orm.em.fork();
  }

  findVersion(code: string, version: number): Promise<Plan | null> {
    return this.em.findOne(Plan, { code, version });
  }

  findById(id: string): Promise<Plan | null> {
    return this.em.findOne(Plan, { id });
  }

  findLatest(code: string): Promise<Plan | null> {
    return this.em.findOne(Plan, { code }, { orderBy: { version: 'desc' } });
  }

  /** A page of a plan's versions, oldest first: keyset on the version number. */
  async pageVersions(code: string, afterVersion: number | null, first: number): Promise<Page<Plan>> {
    const rows = await this.em.find(Plan, afterVersion === null ? { code } : { code, version: { $gt: afterVersion } }, { orderBy: { version: 'asc' }, limit: first + 1 });
    return { items: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  /** The latest version of each plan, ordered by code. */
  async pageLatest(req: PageRequest): Promise<Page<Plan>> {
    const rows = await this.em
      .getConnection()
      .execute<Array<{ id: string }>>(
        `select distinct on (code) id from plan ${req.after ? 'where code > ?' : ''} order by code, version desc limit ?`,
        req.after ? [req.after, req.first + 1] : [req.first + 1],
      );
    const plans = await this.em.find(Plan, { id: { $in: rows.map((r) => r.id) } }, { orderBy: { code: 'asc' } });
    return { items: plans.slice(0, req.first), hasNextPage: plans.length > req.first };
  }

  chargesOf(planIds: string[]): Promise<PlanCharge[]> {
    return this.em.find(PlanCharge, { planId: { $in: planIds } }, { orderBy: { position: 'asc' } });
  }

  /** Inserts a version and its charges in one transaction. */
  async insert(plan: Plan, charges: PlanCharge[]): Promise<void> {
    await this.em.transactional(async (em) => {
      em.persist(plan);
      await em.flush();
      charges.forEach((c) => em.persist(c));
    });
  }

  async taxRateExists(code: string): Promise<boolean> {
    const rows = await this.em.getConnection().execute<Array<{ n: number }>>('select 1 as n from tax_rate where code = ?', [code]);
    return rows.length > 0;
  }
}
