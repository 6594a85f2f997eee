export { LiveFeeds } from './live-feeds.service.js';
export { LivePublisher } from './live-publisher.service.js';
export { type LiveBus, MemoryLiveBus, REVOCATIONS, STANDINGS, type StandingMessage } from './live.bus.js';
export { LiveRepository } from './live.repository.js';
export { LiveResolver } from './live.resolver.js';
export { RedisLiveBus } from './redis.bus.js';
