import type { Principal } from '../modules/api-keys/principal.js';
import type { LiveFeeds } from '../modules/live/live-feeds.js';

/** What every resolver receives: who is calling, a request id for the logs, and (over WebSocket) the live feeds. */
export interface RequestContext {
  principal: Principal;
  requestId: string;
  live?: LiveFeeds;
}
