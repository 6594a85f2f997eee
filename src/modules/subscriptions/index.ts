export { type Period, periodKey } from './billing-period.pure.js';
export { SubscriptionResolver } from './subscription.resolver.js';
export { type ActivePlan, SubscriptionService } from './subscription.service.js';
