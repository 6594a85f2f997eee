export { Subscription, SubscriptionSchema } from './subscription.entity.js';
export { SubscriptionService, type ActivePlan } from './subscription.service.js';
export { SubscriptionResolver } from './subscription.resolver.js';
export { periodAt, periodKey, type Period, type Alignment } from './billing-period.js';
