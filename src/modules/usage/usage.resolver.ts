import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../graphql/context.js';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { Role, visibleTo } from '../api-keys/index.js';
import { RecordUsageBatchInput, RecordUsageBatchPayload, RecordUsageInput, RecordUsagePayload } from './usage.inputs.js';
import { toRefusal, toUsageEventObject, toUsageResult, toUsageWallet, UsageEventObject } from './usage.object.js';
import type { UsageService } from './usage.service.js';

@Resolver()
export class UsageResolver implements NodeSource {
  constructor(private readonly service: UsageService) {}

  /** A usage event as a node, loaded as usageEvent(id:) loads it. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({ typename: 'UsageEvent', table: 'usage_event', roles: [Role.ADMIN, Role.CUSTOMER], load: (ctx, id) => this.usageEvent(ctx, id) });
  }

  @Authorized(Role.ADMIN, Role.INGEST)
  @Mutation(() => RecordUsagePayload, {
    description: 'Prices one usage event and charges it against the wallet or spending cap before the work happens. Refusals are results, not errors.',
  })
  async recordUsage(@Arg('input', () => RecordUsageInput) input: RecordUsageInput): Promise<RecordUsagePayload> {
    const [outcome] = await this.service.record([input], false);
    // An event that is wrong is a GraphQL error here, so the status is ACCEPTED or REFUSED.
    if (outcome!.kind === 'error') throw outcome!.error;
    const event = outcome!.kind === 'accepted' ? outcome!.event : null;
    return {
      status: event ? 'ACCEPTED' : 'REFUSED',
      replayed: outcome!.kind === 'accepted' && outcome!.replay,
      refusal: toRefusal(outcome!),
      event: event && toUsageEventObject(event),
      wallet: event && toUsageWallet(event),
    };
  }

  @Authorized(Role.ADMIN, Role.INGEST)
  @Mutation(() => RecordUsageBatchPayload, { description: 'Up to 1,000 events; atomic: all are charged or none is.' })
  async recordUsageBatch(@Arg('input', () => RecordUsageBatchInput) input: RecordUsageBatchInput): Promise<RecordUsageBatchPayload> {
    const outcomes = await this.service.record(input.events, input.atomic);
    const results = outcomes.map(toUsageResult);
    const failed = input.atomic ? results.find((r) => r.status !== 'ACCEPTED' && r.status !== 'NOT_CHARGED') : undefined;
    return {
      acceptedCount: results.filter((r) => r.status === 'ACCEPTED').length,
      allAccepted: results.every((r) => r.status === 'ACCEPTED'),
      failedIndex: failed?.index ?? null,
      results,
    };
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => UsageEventObject, { nullable: true })
  async usageEvent(@Ctx() ctx: RequestContext, @Arg('id', () => ID) id: string): Promise<UsageEventObject | null> {
    const event = visibleTo(ctx.principal, /^[0-9a-f-]{36}$/i.test(id) ? await this.service.repository.findById(id) : null);
    return event && toUsageEventObject(event);
  }
}
