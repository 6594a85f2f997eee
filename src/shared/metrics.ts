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

  /** Where a usage request's time goes, stage by stage (the per-stage budget of the hot path). */
  readonly usageStages = new Histogram({
    name: 'billing_usage_stage_seconds',
    help: 'Time usage requests spend per stage: prepare (validate, resolve), rate, reserve (store), commit_wait (queued for a group commit), commit (the SQL), post (store), and the whole request',
    labelNames: ['stage'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
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

  readonly liveDropped = new Counter({
    name: 'billing_live_messages_dropped_total',
    help: 'Live messages not published because too many were already waiting for the bus (the outbox relay republishes balances)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
