export { testClockNumbering, type TestClock } from './test-clock.record.js';
export { TestClockRepository } from './test-clock.repository.js';
export { CustomerTestClockResolver, TestClockResolver } from './test-clock.resolver.js';
export { TestClockService, type ClockedWork } from './test-clock.service.js';
