import type { Principal } from '../modules/api-keys/index.js';
import type { LiveFeeds } from '../modules/live/index.js';

/** What every resolver receives: who is calling, a request id for the logs, and (over WebSocket) the live feeds. */
export interface RequestContext {
  principal: Principal;
  requestId: string;
  live?: LiveFeeds;
}
