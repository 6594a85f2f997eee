import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { GraphQLError } from 'graphql';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import { newId } from '../shared/ids.js';
import type { Principal } from '../modules/api-keys/principal.js';
import type { LiveFeeds } from '../modules/live/live-feeds.js';
import type { RequestContext } from './context.js';
import { CREDENTIAL_CLOSED, type CredentialSockets } from './credential-sockets.js';

type Formatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

interface SocketExtra extends Extra {
  principal?: Principal;
  /** Stops tracking the socket for its credential's expiry and revocation. */
  untrack?: () => void;
}

/** Turns an `Authorization` value into a principal, or throws (API keys and customer tokens alike). */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal>;
}

/** Reads the key from connection_init: `{ "authorization": "Bearer <key>" }` or `{ "apiKey": "<key>" }`. */
function authorizationOf(params: Record<string, unknown> | undefined): string | undefined {
  if (typeof params?.authorization === 'string') return params.authorization;
  if (typeof params?.Authorization === 'string') return params.Authorization;
  if (typeof params?.apiKey === 'string') return `Bearer ${params.apiKey}`;
  return undefined;
}

/**
 * GraphQL over WebSocket (graphql-transport-ws) on the same path as HTTP. The key is checked in
 * connection_init; a bad key closes the socket with 4403, and so does the key's (or token's)
 * expiry or revocation while the socket is open. Operations run with the socket's principal and
 * their errors are formatted exactly as over HTTP.
 */
export function serveGraphQLOverWebSocket(
  ws: WebSocketServer,
  schema: GraphQLSchema,
  credentials: Authenticator,
  sockets: CredentialSockets,
  formatError: Formatter,
  live: LiveFeeds,
  initTimeoutMs: number,
) {
  return useServer<Record<string, unknown> | undefined, { principal: Principal }>(
    {
      schema,
      connectionInitWaitTimeout: initTimeoutMs,
      onConnect: async (ctx) => {
        const extra = ctx.extra as SocketExtra;
        try {
          extra.principal = await credentials.authenticate(authorizationOf(ctx.connectionParams));
        } catch {
          return false;
        }
        // Closed while the key was being checked: onClose has run already, so track nothing.
        if (extra.socket.readyState !== extra.socket.OPEN) return false;
        extra.untrack = sockets.add(extra.principal, (reason) => extra.socket.close(CREDENTIAL_CLOSED, reason));
        return true;
      },
      onClose: (ctx) => (ctx.extra as SocketExtra).untrack?.(),
      context: (ctx): RequestContext => ({ principal: (ctx.extra as SocketExtra).principal!, requestId: newId(), live }),
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors) return;
        return {
          ...result,
          errors: result.errors.map((err) => formatError(err instanceof GraphQLError ? err.toJSON() : { message: String(err) }, err)),
        };
      },
    },
    ws,
  );
}
