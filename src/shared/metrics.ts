import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The Prometheus metrics of one app instance (its own registry, so tests can run several). */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Histogram({
    name: 'billing_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly graphqlErrors = new Counter({
    name: 'billing_graphql_errors_total',
    help: 'GraphQL errors returned, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly storeDrift = new Counter({
    name: 'billing_store_drift_total',
    help: 'Differences found between the reservation store and PostgreSQL by the periodic check',
    registers: [this.registry],
  });

  readonly storeChecked = new Counter({
    name: 'billing_store_checked_total',
    help: 'Customers whose reservation-store state the periodic check compared with PostgreSQL',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
