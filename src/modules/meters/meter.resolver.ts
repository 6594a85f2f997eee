import { Arg, Args, Authorized, Mutation, Query, Resolver } from 'type-graphql';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { Role } from '../api-keys/index.js';
import { CreateMeterInput, CreateMeterPayload } from './meter.inputs.js';
import { MeterConnection, MeterObject, toMeterObject } from './meter.object.js';
import type { MeterService } from './meter.service.js';

@Resolver()
export class MeterResolver implements NodeSource {
  constructor(private readonly service: MeterService) {}

  /** A meter as a node, for the roles meter(code:) serves. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({
      typename: 'Meter',
      table: 'meter',
      roles: [Role.ADMIN, Role.CUSTOMER],
      load: async (_ctx, id) => {
        const meter = await this.service.findById(id);
        return meter && toMeterObject(meter);
      },
    });
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => MeterConnection, { description: "The meters, by code: a customer's frontend reads their names (to show instead of codes) and the dimensions usage may be grouped by." })
  async meters(@Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<MeterObject>> {
    return toConnection(await this.service.list(toPageRequest(args)), (m) => m.code, toMeterObject);
  }

  @Authorized(Role.ADMIN, Role.CUSTOMER)
  @Query(() => MeterObject, { nullable: true })
  async meter(@Arg('code', () => String) code: string): Promise<MeterObject | null> {
    const meter = await this.service.findByCode(code);
    return meter && toMeterObject(meter);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateMeterPayload)
  async createMeter(@Arg('input', () => CreateMeterInput) input: CreateMeterInput): Promise<CreateMeterPayload> {
    return { meter: toMeterObject(await this.service.create(input)) };
  }
}
