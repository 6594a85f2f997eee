import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets of work measured in fractions of a millisecond up to a second. */
const FAST = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Sizes from one to the largest group commit (GROUP_COMMIT_MAX_BATCH is at most 20,000). */
const SIZES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 20000];

/** What a gauge reads on each scrape; set by the composition root once the part it reads exists. */
type Reading = () => number | Promise<number>;

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

  /** With a read replica: where the read pool's reads went, and why not to the replica. */
  readonly replicaReads = new Counter({
    name: 'billing_read_replica_reads_total',
    help: 'Reads of the read pool by where they ran (replica, primary) and why one went to the primary: replica_unavailable, replica_lagging, read_after_write (the replica had not replayed the caller\'s write in time), replica_error (failed on the replica, answered by the primary); none for the replica',
    labelNames: ['target', 'reason'] as const,
    registers: [this.registry],
  });

  readonly replicaLag = new Gauge({
    name: 'billing_read_replica_lag_seconds',
    help: 'How far the read replica\'s replay is behind the primary, as last measured (-1: unknown or unreachable)',
    registers: [this.registry],
  });

  /** Events through the usage pipeline, by outcome, and by code for refusals and errors. */
  readonly usageEvents = new Counter({
    name: 'billing_usage_events_total',
    help: 'Usage events and authorizations by outcome (accepted, replayed, authorized, refused, error, skipped) and, for refused and error, the code',
    labelNames: ['outcome', 'code'] as const,
    registers: [this.registry],
  });

  /** How many requests and events each group commit took (its SQL time: billing_usage_stage_seconds{stage="commit"}). */
  readonly commitGroupRequests = new Histogram({
    name: 'billing_usage_commit_group_requests',
    help: 'Requests (bundles of events) committed together by one group commit',
    buckets: SIZES,
    registers: [this.registry],
  });

  readonly commitGroupEvents = new Histogram({
    name: 'billing_usage_commit_group_events',
    help: 'Usage events committed together by one group commit',
    buckets: SIZES,
    registers: [this.registry],
  });

  readonly storeScripts = new Histogram({
    name: 'billing_store_script_seconds',
    help: 'Time per reservation-store call, by script (one Lua script each in Redis): reserve, post, release, sync, begin-load, load, load-period, inspect, drop',
    labelNames: ['script'] as const,
    buckets: FAST,
    registers: [this.registry],
  });

  readonly graphqlOperations = new Counter({
    name: 'billing_graphql_operations_total',
    help: 'GraphQL operations by name (known names only, else "other"), type and result ("ok" or the first error code)',
    labelNames: ['operation', 'type', 'result'] as const,
    registers: [this.registry],
  });

  readonly graphqlDuration = new Histogram({
    name: 'billing_graphql_operation_duration_seconds',
    help: 'GraphQL operation duration by name and type (over WebSocket, a subscription until its stream is set up)',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });

  private readings: { sockets: Reading; webhookBacklog: Reading } = { sockets: () => 0, webhookBacklog: () => 0 };

  readonly liveSockets: Gauge = new Gauge({
    name: 'billing_live_sockets',
    help: 'Open GraphQL WebSockets on this instance',
    registers: [this.registry],
    collect: async () => {
      this.liveSockets.set(await this.readings.sockets());
    },
  });

  readonly liveSubscriptions = new Gauge({
    name: 'billing_live_subscriptions',
    help: 'Active GraphQL subscriptions on this instance',
    registers: [this.registry],
  });

  readonly livePushLag = new Histogram({
    name: 'billing_live_push_lag_seconds',
    help: 'Time from a committed change to its live message being pushed to a subscriber, by message type (balance, usage, alert)',
    labelNames: ['type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly webhookBacklog: Gauge = new Gauge({
    name: 'billing_webhook_backlog',
    help: 'Webhook deliveries pending (neither delivered nor failed for good), read from PostgreSQL on each scrape',
    registers: [this.registry],
    collect: async () => {
      // A database that does not answer leaves the last value: the scrape must neither fail nor hang.
      const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), 1_000).unref());
      const n = await Promise.race([Promise.resolve().then(() => this.readings.webhookBacklog()), timeout]).catch(() => null);
      if (n !== null) this.webhookBacklog.set(n);
    },
  });

  readonly webhookAttempts = new Counter({
    name: 'billing_webhook_attempts_total',
    help: 'Webhook delivery attempts by result: delivered (2xx), rejected (another status), unreachable (no answer: timeout, connection error, refused address)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly invoiceCloses = new Counter({
    name: 'billing_invoice_closes_total',
    help: 'Customers the invoice close ran for (each in its own transaction), by result (ok, failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly invoiceCloseDuration = new Histogram({
    name: 'billing_invoice_close_seconds',
    help: "Time to close one customer's due periods",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly invoicesFinalized = new Counter({
    name: 'billing_invoices_finalized_total',
    help: 'Invoices finalized by the invoice close',
    registers: [this.registry],
  });

  readonly invoiceEventsClosed = new Counter({
    name: 'billing_invoice_events_closed_total',
    help: 'Usage events of the billing periods whose invoices the close finalized',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Gives the gauges read on each scrape their source. */
  read(readings: Partial<Metrics['readings']>): void {
    this.readings = { ...this.readings, ...readings };
  }
}
