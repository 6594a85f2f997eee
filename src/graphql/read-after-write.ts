import type { ApolloServerPlugin } from '@apollo/server';
import type { Principal } from '../modules/api-keys/index.js';
import type { RequestContext } from './context.js';

/**
 * Tells `wrote` about every mutation run over HTTP, once it has run and before its response is
 * sent, so that the caller's next reads see what it wrote (with a read replica:
 * src/db/read-replica.ts). A mutation that failed may have written too: every one counts.
 */
export function readAfterWritePlugin(wrote: (principal: Principal) => void): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, contextValue }) {
          if (operation?.operation === 'mutation' && contextValue.principal) wrote(contextValue.principal);
        },
      };
    },
  };
}
