import { Arg, Args, Authorized, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { Role } from '../api-keys/index.js';
import { CreatePlanInput, CreatePlanPayload, CreatePlanVersionInput, CreatePlanVersionPayload } from './plan.inputs.js';
import { PlanConnection, PlanObject, toPlanObject } from './plan.object.js';
import type { PlanService } from './plan.service.js';

@Resolver()
export class PlanResolver implements NodeSource {
  constructor(private readonly service: PlanService) {}

  /** A plan version as a node, for ADMIN keys as plan(code:, version:) is. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({
      typename: 'Plan',
      table: 'plan',
      roles: [Role.ADMIN],
      load: async (_ctx, id) => {
        const view = await this.service.findById(id);
        return view && toPlanObject(view);
      },
    });
  }

  @Authorized(Role.ADMIN)
  @Query(() => PlanConnection, { description: 'The latest version of every plan, by code.' })
  async plans(@Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<PlanObject>> {
    return toConnection(await this.service.listLatest(toPageRequest(args)), (v) => v.plan.code, toPlanObject);
  }

  @Authorized(Role.ADMIN)
  @Query(() => PlanObject, { nullable: true, description: 'A plan version; the latest when version is absent.' })
  async plan(
    @Arg('code', () => String) code: string,
    @Arg('version', () => Int, { nullable: true }) version?: number | null,
  ): Promise<PlanObject | null> {
    const view = await this.service.find(code, version);
    return view && toPlanObject(view);
  }

  @Authorized(Role.ADMIN)
  @Query(() => PlanConnection, { description: 'Every version of a plan, oldest first.' })
  async planVersions(@Arg('code', () => String) code: string, @Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<PlanObject>> {
    return toConnection(await this.service.versions(code, toPageRequest(args)), (v) => String(v.plan.version), toPlanObject);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreatePlanPayload)
  async createPlan(@Arg('input', () => CreatePlanInput) input: CreatePlanInput): Promise<CreatePlanPayload> {
    return { plan: toPlanObject(await this.service.create(input)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreatePlanVersionPayload)
  async createPlanVersion(@Arg('input', () => CreatePlanVersionInput) input: CreatePlanVersionInput): Promise<CreatePlanVersionPayload> {
    return { plan: toPlanObject(await this.service.createVersion(input)) };
  }
}
