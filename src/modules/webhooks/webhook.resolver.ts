import { Arg, Args, Authorized, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { PageArgs, timeIdKey, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { Role } from '../api-keys/index.js';
import {
  CreateWebhookEndpointInput,
  CreateWebhookEndpointPayload,
  ReplayWebhookEventsInput,
  ReplayWebhookEventsPayload,
  RotateWebhookSecretInput,
  RotateWebhookSecretPayload,
  UpdateWebhookEndpointInput,
  UpdateWebhookEndpointPayload,
} from './webhook.inputs.js';
import {
  toWebhookDeliveryObject,
  toWebhookEndpointObject,
  WebhookDeliveryConnection,
  WebhookDeliveryObject,
  WebhookEndpointConnection,
  WebhookEndpointObject,
} from './webhook.object.js';
import { WebhookDeliveryStatus } from './webhook.record.js';
import type { WebhookService } from './webhook.service.js';

@Resolver()
export class WebhookResolver implements NodeSource {
  constructor(private readonly service: WebhookService) {}

  /** Endpoints and deliveries as nodes, for ADMIN keys as their own queries are. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({
      typename: 'WebhookEndpoint',
      table: 'webhook_endpoint',
      roles: [Role.ADMIN],
      load: async (_ctx, id) => {
        const endpoint = await this.service.endpoint(id);
        return endpoint && toWebhookEndpointObject(endpoint);
      },
    });
    nodes.register({ typename: 'WebhookDelivery', table: 'webhook_delivery', roles: [Role.ADMIN], load: (_ctx, id) => this.webhookDelivery(id) });
  }

  @Authorized(Role.ADMIN)
  @Query(() => WebhookEndpointConnection, { description: 'Every webhook endpoint, oldest first.' })
  async webhookEndpoints(@Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<WebhookEndpointObject>> {
    return toConnection(await this.service.listEndpoints(toPageRequest(args)), (r) => timeIdKey(r.position), (r) => toWebhookEndpointObject(r.endpoint));
  }

  @Authorized(Role.ADMIN)
  @Query(() => WebhookDeliveryConnection, { description: "An endpoint's deliveries, newest first, with their attempts." })
  async webhookDeliveries(
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('status', () => WebhookDeliveryStatus, { nullable: true }) status: WebhookDeliveryStatus | null | undefined,
    @Args(() => PageArgs) args: PageArgs,
  ): Promise<ConnectionShape<WebhookDeliveryObject>> {
    return toConnection(await this.service.deliveries(endpointId, toPageRequest(args), status), (d) => d.id, toWebhookDeliveryObject);
  }

  @Authorized(Role.ADMIN)
  @Query(() => WebhookDeliveryObject, { nullable: true, description: 'One delivery with its attempts.' })
  async webhookDelivery(@Arg('id', () => ID) id: string): Promise<WebhookDeliveryObject | null> {
    const delivery = await this.service.delivery(id);
    return delivery && toWebhookDeliveryObject(delivery);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateWebhookEndpointPayload, { description: 'Registers an endpoint. The signing secret is in this answer only.' })
  async createWebhookEndpoint(@Arg('input', () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput): Promise<CreateWebhookEndpointPayload> {
    const { endpoint, secret } = await this.service.createEndpoint(input);
    return { endpoint: toWebhookEndpointObject(endpoint), secret };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => UpdateWebhookEndpointPayload, { description: 'Changes an endpoint; enabled: true re-enables one that was disabled.' })
  async updateWebhookEndpoint(@Arg('input', () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput): Promise<UpdateWebhookEndpointPayload> {
    return { endpoint: toWebhookEndpointObject(await this.service.updateEndpoint(input)) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RotateWebhookSecretPayload, { description: "Gives an endpoint a new signing secret, in this answer only; requests carry signatures of both secrets for graceSeconds." })
  async rotateWebhookSecret(@Arg('input', () => RotateWebhookSecretInput) input: RotateWebhookSecretInput): Promise<RotateWebhookSecretPayload> {
    const { endpoint, secret } = await this.service.rotateSecret(input);
    return { endpoint: toWebhookEndpointObject(endpoint), secret };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ReplayWebhookEventsPayload, { description: 'Sends past events to one endpoint again, with their original ids (at most 10000 per call).' })
  async replayWebhookEvents(@Arg('input', () => ReplayWebhookEventsInput) input: ReplayWebhookEventsInput): Promise<ReplayWebhookEventsPayload> {
    return this.service.replay(input);
  }
}
