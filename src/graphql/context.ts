import type { Principal } from '../modules/api-keys/principal.js';

/** What every resolver receives: who is calling, and a request id for the logs. */
export interface RequestContext {
  principal: Principal;
  requestId: string;
}
