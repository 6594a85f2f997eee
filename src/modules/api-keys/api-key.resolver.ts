import { Arg, Args, Authorized, Mutation, Query, Resolver } from 'type-graphql';
import type { NodeRegistry, NodeSource } from '../../graphql/node.js';
import { PageArgs, toConnection, toPageRequest, type ConnectionShape } from '../../graphql/pagination.js';
import { ApiKeyConnection, ApiKeyObject, toApiKeyObject } from './api-key.object.js';
import { CreateApiKeyInput, CreateApiKeyPayload, RevokeApiKeyInput, RevokeApiKeyPayload } from './api-key.inputs.js';
import type { ApiKeyService } from './api-key.service.js';
import { Role } from './principal.pure.js';

@Resolver()
export class ApiKeyResolver implements NodeSource {
  constructor(private readonly keys: ApiKeyService) {}

  /** An API key as a node, for ADMIN keys as apiKeys is. */
  registerNodeTypes(nodes: NodeRegistry): void {
    nodes.register({
      typename: 'ApiKey',
      table: 'api_key',
      roles: [Role.ADMIN],
      load: async (_ctx, id) => {
        const key = await this.keys.find(id);
        return key && toApiKeyObject(key);
      },
    });
  }

  @Authorized(Role.ADMIN)
  @Query(() => ApiKeyConnection)
  async apiKeys(@Args(() => PageArgs) args: PageArgs): Promise<ConnectionShape<ApiKeyObject>> {
    const page = await this.keys.list(toPageRequest(args));
    return toConnection(page, (k) => k.id, toApiKeyObject);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreateApiKeyPayload)
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput): Promise<CreateApiKeyPayload> {
    const created = await this.keys.create(input);
    return { apiKey: toApiKeyObject(created.apiKey), secret: created.secret };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => RevokeApiKeyPayload)
  async revokeApiKey(@Arg('input', () => RevokeApiKeyInput) input: RevokeApiKeyInput): Promise<RevokeApiKeyPayload> {
    return { apiKey: toApiKeyObject(await this.keys.revoke(input.id)) };
  }
}
