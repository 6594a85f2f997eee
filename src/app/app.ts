import 'reflect-metadata';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config/config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded-postgres.js';
import { SingleInstanceLock } from '../db/single-instance-lock.js';
import { migrate, openOrm, type Orm } from '../db/orm.js';
import { asUnavailable, closeSqlPools, openSqlPools, type SqlPool } from '../db/sql.js';
import { ReplicaReadPool, replicaObserver } from '../db/read-replica.js';
import type { RequestContext } from '../graphql/context.js';
import { createErrorFormatter, toGraphQLError } from '../graphql/errors.js';
import { variableErrorPlugin } from '../graphql/variable-coercion.js';
import { buildAppSchema } from '../graphql/schema.js';
import { NodeRegistry } from '../graphql/node.js';
import { CredentialSockets } from '../graphql/credential-sockets.js';
import { serveGraphQLOverWebSocket } from '../graphql/ws.js';
import { limitRules } from '../graphql/operation-limits.js';
import { OperationGuard, operationGuardPlugin } from '../graphql/operation-guard.js';
import { OperationNames, operationTelemetryPlugin } from '../graphql/operation-telemetry.js';
import { RateLimits } from '../graphql/rate-limits.js';
import { ReadGate } from '../graphql/read-gate.js';
import { readAfterWritePlugin } from '../graphql/read-after-write.js';
import { dashboardRoutes } from '../dashboard/dashboard.routes.js';
import { createGraphQLHandler } from '../http/graphql-handler.js';
import { sendJson, type Route } from '../http/router.js';
import { ApiKeyResolver, ApiKeyService } from '../modules/api-keys/index.js';
import { Credentials, CustomerTokenResolver, CustomerTokenService, RevocationNotices } from '../modules/customer-tokens/index.js';
import { CurrencyResolver, CurrencyService } from '../modules/currencies/index.js';
import { CustomerResolver, CustomerService } from '../modules/customers/index.js';
import { MeterResolver, MeterService } from '../modules/meters/index.js';
import { NodeRepository, NodeResolver, NodeService } from '../modules/nodes/index.js';
import { PlanResolver, PlanService } from '../modules/plans/index.js';
import { ChargePreviewService, RuleSetResolver, RuleService } from '../modules/rules/index.js';
import { SimulationRepository, SimulationResolver, SimulationService } from '../modules/simulations/index.js';
import { MarginRepository, MarginResolver, MarginService, MAX_MARGIN_DAYS } from '../modules/margins/index.js';
import {
  AccountStateService,
  createRedisClient,
  DriftMonitor,
  HoldSweeper,
  MemoryReservationStore,
  Reconciler,
  RedisReservationStore,
  redisTargetOf,
  ReservationRepository,
  ReservationResolver,
  ReservationService,
  timeStoreScripts,
  type ReservationStore,
} from '../modules/reservations/index.js';
import { SubscriptionResolver, SubscriptionService } from '../modules/subscriptions/index.js';
import { UsageContextCache, UsageResolver, UsageService, usageRoutes, COMMIT_SESSION, UsageRepository, UsagePartitionRepository, UsagePartitionService, UsagePartitionWorker } from '../modules/usage/index.js';
import { UsageEventListRepository, UsageEventListResolver, UsageEventListService, UsageReportResolver, UsageReportService, usageReportRoutes } from '../modules/usage-reports/index.js';
import { CustomerWalletsResolver, WalletResolver, WalletService } from '../modules/wallets/index.js';
import { MemoryLiveBus, type LiveBus, LiveFeeds, LivePublisher, LiveResolver, LiveRepository, RedisLiveBus } from '../modules/live/index.js';
import { AlertResolver, AlertService } from '../modules/alerts/index.js';
import { WebhookWorker, WebhookResolver, WebhookService } from '../modules/webhooks/index.js';
import { InvoiceDocumentResolver, InvoiceDocumentService, InvoiceRepository, InvoiceResolver, InvoiceService, invoiceRoutes } from '../modules/invoices/index.js';
import {
  DunningWorker,
  InvoicePaymentsResolver,
  ManualPaymentProvider,
  PaymentProviders,
  PaymentRepository,
  PaymentResolver,
  PaymentService,
  StandingNotices,
  StripePaymentProvider,
  stripeWebhookRoutes,
} from '../modules/payments/index.js';
import { RechargeRepository, RechargeService, RechargeWorker } from '../modules/recharges/index.js';
import { TaxRateResolver, TaxRateService } from '../modules/taxes/index.js';
import { CustomerTestClockResolver, TestClockRepository, TestClockResolver, TestClockService } from '../modules/test-clocks/index.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { AppError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { Metrics } from '../shared/metrics.js';
import { currentRequestId, nameCaller } from '../shared/request-scope.js';
import { Tracing } from '../shared/tracing.js';
import { AppServer } from './server.js';

export interface AppOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
}

export interface Services {
  apiKeys: ApiKeyService;
  customerTokens: CustomerTokenService;
  currencies: CurrencyService;
  customers: CustomerService;
  meters: MeterService;
  plans: PlanService;
  wallets: WalletService;
  rules: RuleService;
  previews: ChargePreviewService;
  subscriptions: SubscriptionService;
  accounts: AccountStateService;
  usage: UsageService;
  reservations: ReservationService;
  sweeper: HoldSweeper;
  reconciler: Reconciler;
  driftMonitor: DriftMonitor;
  alerts: AlertService;
  webhooks: WebhookService;
  webhookWorker: WebhookWorker;
  publisher: LivePublisher;
  invoices: InvoiceService;
  taxes: TaxRateService;
  usageReports: UsageReportService;
  partitions: UsagePartitionService;
  payments: PaymentService;
  dunning: DunningWorker;
  recharges: RechargeService;
  rechargeWorker: RechargeWorker;
  testClocks: TestClockService;
}

export interface App {
  config: Config;
  logger: Logger;
  clock: Clock;
  orm: Orm;
  sql: SqlPool;
  store: ReservationStore;
  services: Services;
  schema: GraphQLSchema;
  server: AppServer;
  /** OpenTelemetry tracing (Tracing.off unless configured). */
  tracing: Tracing;
  /** Starts listening on config.host:config.port. */
  listen(): Promise<AddressInfo>;
  /** Drains requests and sockets, then closes every connection and the embedded database. */
  stop(): Promise<void>;
}

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out`)), ms).unref())]);

/** The composition root: builds every part of the service from the config, and nothing else does. */
export async function createApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics();
  // Off (no SDK started) unless an OTLP endpoint is configured; flushed last in stop().
  const tracing = Tracing.start(config.tracing);
  if (config.tracing) logger.info({ endpoint: config.tracing.tracesUrl, sampler: config.tracing.sampler }, 'tracing to an OTLP endpoint');

  let embedded: EmbeddedPostgres | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, logger);
    databaseUrl = embedded.url;
  }
  const orm = await openOrm(databaseUrl, Math.max(2, Math.floor(config.databasePoolSize / 2)), logger);
  if (config.migrateOnStart) {
    const applied = await migrate(orm);
    if (applied.length > 0) logger.info({ applied }, 'database migrated');
  }
  // With DATABASE_READ_URL, the `read` pool's reads go to that streaming replica: each caller's
  // once its own writes are replayed, and to the primary when the replica is down or lags
  // (src/db/read-replica.ts). Migrations, above, run on the primary only.
  const { readReplica } = config;
  const replica = readReplica.url
    ? new ReplicaReadPool(
        databaseUrl,
        readReplica.url,
        { size: config.databaseReadPoolSize, statementTimeoutMs: config.readStatementTimeoutMs, readAfterWriteWaitMs: readReplica.readAfterWriteWaitMs, maxLagMs: readReplica.maxLagMs, checkIntervalMs: readReplica.checkIntervalMs },
        replicaObserver(metrics, logger.child({ module: 'read-replica' })),
      )
    : null;
  await replica?.start();
  // One pool per kind of work (CONTRIBUTING.md, "Reaching the database"). Reads an API caller can
  // make expensive go to `read`, with a short statement timeout: however many a caller sends,
  // they cannot take the connections money moves on. Group commits (usage_commit) run on `commit`,
  // one connection per lane: each statement of the commit finds its rows by key, so these plan
  // for index lookups only and keep one plan per statement. Planned against the statistics of a
  // young, fast-growing table, a statement would otherwise scan it whole until autovacuum catches
  // up; replanned per call (as PostgreSQL does when a plan's cost looks uncertain), the planning
  // alone would cost more than the work.
  const pools = openSqlPools(databaseUrl, {
    write: config.databasePoolSize,
    read: config.databaseReadPoolSize,
    readStatementTimeoutMs: config.readStatementTimeoutMs,
    commit: config.usage.groupCommitLanes,
    commitSettings: COMMIT_SESSION,
  }, replica ?? undefined);
  const sql = pools.write;

  let store: ReservationStore;
  let bus: LiveBus;
  let storeLock: SingleInstanceLock | undefined;
  let rateLimits: RateLimits;
  const liveLogger = logger.child({ module: 'live' });
  const onBusError = (err: unknown) => liveLogger.warn({ err: (err as Error).message }, 'live update channel problem');
  const redisTarget = redisTargetOf(config);
  if (redisTarget) {
    const redis = createRedisClient(redisTarget);
    redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection problem'));
    await redis.connect().catch((err) => logger.error({ err: err.message }, 'redis is not reachable yet; retrying'));
    store = new RedisReservationStore(redis, config.redisPrefix);
    bus = new RedisLiveBus(redis, config.redisPrefix, onBusError);
    rateLimits = new RateLimits(config.limits, { client: redis, prefix: config.redisPrefix }, logger.child({ module: 'rate-limits' }));
  } else {
    // The in-process store is one server's memory: a second server on the same database would
    // hold the same money again. A session lock on the database lets only one use it.
    storeLock = await SingleInstanceLock.acquire(databaseUrl, 'billing in-process reservation store').catch(async (err) => {
      await orm.close();
      await closeSqlPools(pools);
      await storeLock?.release();
      await embedded?.stop();
      throw err;
    });
    store = new MemoryReservationStore();
    bus = new MemoryLiveBus(onBusError);
    rateLimits = new RateLimits(config.limits, null, logger.child({ module: 'rate-limits' }));
    logger.warn('no REDIS_URL: using the in-process reservation store; run a single instance only');
  }

  timeStoreScripts(store, (script, seconds) => metrics.storeScripts.observe({ script }, seconds));
  const currencies = new CurrencyService(orm, clock);
  // The payment providers: MANUAL always, Stripe when configured. Customers pick theirs.
  const stripe = config.stripe ? new StripePaymentProvider(config.stripe) : null;
  const paymentProviders = new PaymentProviders([new ManualPaymentProvider(), ...(stripe ? [stripe] : [])]);
  const customers = new CustomerService(orm, currencies, clock, paymentProviders.names);
  const apiKeys = new ApiKeyService(orm, clock, (id) => customers.exists(id));
  const customerTokens = new CustomerTokenService(orm, clock, (id) => customers.exists(id));
  const credentials = new Credentials(apiKeys, customerTokens);
  // A revocation closes this instance's sockets at once and reaches the others on the live bus;
  // the periodic re-check makes up for a notice lost to a Redis outage.
  const sockets = new CredentialSockets(clock);
  const notices = new RevocationNotices(bus, clock, onBusError);
  credentials.onRevoked((id) => (sockets.revoked(id), notices.publish(id)));
  await withTimeout(notices.listen((id) => (credentials.forget(id), sockets.revoked(id))), 5_000, 'listening for revocations').catch(onBusError);
  sockets.startRecheck(config.live.credentialRecheckMs, (ids) => credentials.validAmong(ids), onBusError);
  const meters = new MeterService(orm, clock);
  const rules = new RuleService(sql, clock, logger.child({ module: 'rules' }), config.rules);
  await rules.start();
  const plans = new PlanService(orm, meters, currencies, clock, (key) => rules.isCostBook(key));
  const wallets = new WalletService(orm, sql, customers, currencies, clock);
  const previews = new ChargePreviewService(rules, meters, plans, customers, clock);
  const subscriptions = new SubscriptionService(orm, customers, plans);
  const accounts = new AccountStateService(store, sql, clock, logger.child({ module: 'accounts' }));
  const contexts = new UsageContextCache(customers, meters, subscriptions, rules);
  const reservationRepo = new ReservationRepository(sql);
  const usageRepos = { usage: new UsageRepository(pools.commit, sql), reservations: reservationRepo };
  const usage = new UsageService(contexts, store, accounts, usageRepos, config.usage, clock, logger.child({ module: 'usage' }), (stage, started) =>
    metrics.usageStages.observe({ stage }, (performance.now() - started) / 1000),
    metrics,
    tracing,
  );
  const reservations = new ReservationService(store, usage, reservationRepo, clock);
  usage.onHeld((customerId, walletId, change) => reservations.holdsChanged(customerId, walletId, change));
  const sweeper = new HoldSweeper(store, accounts.accounts, usage.repository, reservationRepo, clock, logger.child({ module: 'sweeper' }));
  const reconciler = new Reconciler(store, accounts.accounts, sweeper, clock);
  const driftMonitor = new DriftMonitor(reconciler, accounts.accounts, metrics, logger.child({ module: 'store-check' }), config.storeCheck);
  usage.onCommitted((committed) => {
    for (const n of committed.notices) driftMonitor.touched(n.customerId);
  });
  wallets.onCommitted(
    (result, alerts) =>
      void accounts
        .ledgerCommitted(result)
        .catch((err) => logger.warn({ err }, 'syncing a ledger commit failed'))
        .then(() => publisher.ledgerCommitted(result, alerts))
        .catch((err) => logger.warn({ err }, 'publishing a ledger commit failed')),
  );
  wallets.onWalletChanged((wallet) => accounts.walletsChanged(wallet.customerId, [wallet.id], null));
  customers.onSpendingCapChanged(async (customer) => {
    contexts.forgetCustomer(customer);
    await accounts.spendingCapChanged(customer);
  });
  const webhooks = new WebhookService(sql, clock, config.webhooks, pools.read);
  const webhookWorker = new WebhookWorker(sql, clock, logger.child({ module: 'webhooks' }), config.webhooks, (result) => metrics.webhookAttempts.inc({ result }));
  webhooks.onReplayed(() => webhookWorker.poke());
  const publisher = new LivePublisher(bus, new LiveRepository(sql), store, accounts, clock, liveLogger, () => webhookWorker.poke(), 50_000, (n) => metrics.liveDropped.inc(n));
  metrics.read({ webhookBacklog: () => webhooks.backlog() });
  // Push lag: from the change's commit (the message's time) to its push to a subscriber.
  const pushed = (type: string, at: string) => metrics.livePushLag.observe({ type }, Math.max(0, Date.now() - Date.parse(at)) / 1000);
  const live = new LiveFeeds(bus, publisher, async (id) => (await wallets.find(id))?.customerId ?? null, (id) => customers.exists(id), pushed);
  usage.onCommitted((committed) => publisher.usageCommitted(committed));
  const alerts = new AlertService(sql, customers, wallets, meters, clock, pools.read);
  alerts.onRecorded((fired) => publisher.alertsRecorded(fired));
  wallets.onWalletCreated((wallet) => alerts.applyDefaults(wallet));
  const warnLive = (err: unknown) => liveLogger.warn({ err: (err as Error).message }, 'publishing a live update failed');
  reservations.onHoldsChanged((customerId, walletId, change) => void publisher.holdsChanged(customerId, walletId, change).catch(warnLive));
  sweeper.onExpired((customerId, walletId) => void publisher.holdsChanged(customerId, walletId, 'RELEASE').catch(warnLive));
  const relayTimer = config.live.outboxRelayMs > 0 ? setInterval(() => void publisher.relay(10_000).catch(warnLive), config.live.outboxRelayMs) : undefined;
  relayTimer?.unref();
  sweeper.start(config.usage.sweepIntervalMs);
  driftMonitor.start();
  webhookWorker.start();
  const taxes = new TaxRateService(sql, clock);
  const invoices = new InvoiceService(new InvoiceRepository(sql), customers, plans, rules, currencies, taxes, clock, config.invoices, logger.child({ module: 'invoices' }), new InvoiceRepository(pools.read));
  invoices.onCustomerClosed((c) => {
    metrics.invoiceCloses.inc({ result: c.ok ? 'ok' : 'failed' });
    metrics.invoiceCloseDuration.observe(c.seconds);
    metrics.invoicesFinalized.inc(c.finalized);
    metrics.invoiceEventsClosed.inc(c.events);
  });
  // A customer whose provider collects by itself has each invoice's first attempt made at once.
  invoices.collectWith(paymentProviders.collecting);
  invoices.start();
  // Payments and dunning. A suspension or reinstatement reaches the usage path's customer cache
  // here at once, and on the other instances through a notice on the live bus.
  const payments = new PaymentService(new PaymentRepository(sql), new InvoiceRepository(sql), currencies, paymentProviders, clock, config.dunning, new PaymentRepository(pools.read));
  const standings = new StandingNotices(bus, onBusError);
  payments.onAnnounced(() => webhookWorker.poke());
  payments.onStandingChanged((change) => {
    contexts.forgetCustomer({ id: change.customerId, externalId: change.externalId });
    standings.publish(change);
  });
  await withTimeout(standings.listen((customer) => contexts.forgetCustomer(customer)), 5_000, 'listening for customer standings').catch(onBusError);
  const dunning = new DunningWorker(payments, logger.child({ module: 'dunning' }), config.dunning.intervalMs);
  // A test clock's customers close and dun when it advances, at its time, never on the real one.
  const testClocks = new TestClockService(new TestClockRepository(sql), clock, logger.child({ module: 'test-clocks' }));
  testClocks.runs({ closeCustomer: (customerId, at) => invoices.closeCustomer(customerId, at), runDunning: (id, at) => dunning.runDue({ id, at }) });
  dunning.start();
  // Wallets' auto-recharges: charged by the customer's provider, topped up in the same
  // transaction; a failure that suspends keeps the customer suspended until a recharge succeeds
  // or money added brings the wallet back to its threshold.
  const recharges = new RechargeService(new RechargeRepository(sql), wallets, payments, currencies, clock, config.recharges.pendingCheckMs);
  payments.addSuspensionCause((client, customerId) => recharges.suspending(client, customerId));
  // A top-up or grant that brings the wallet of a failed auto-recharge back to its threshold
  // reinstates the customer it suspended, in its transaction (then the push and the webhook).
  wallets.onCredited(async (client, credit) => {
    const effects = await recharges.creditedIn(client, credit.walletId, credit.entryId, credit.at);
    return effects && (() => payments.committed(effects));
  });
  recharges.onAlerts((fired) => publisher.alertsRecorded(fired));
  recharges.onAnnounced(() => webhookWorker.poke());
  const rechargeWorker = new RechargeWorker(recharges, logger.child({ module: 'recharges' }), config.recharges.pollMs);
  rechargeWorker.start();
  const invoiceDocuments = new InvoiceDocumentService(invoices, customers, config.invoices, config.publicUrl, clock, logger.child({ module: 'invoices' }));
  // usage_event's monthly partitions: the months ahead exist before the service takes events
  // (a month without one would land in the default partition), then daily, with retention.
  const partitions = new UsagePartitionService(new UsagePartitionRepository(sql), clock, { ...config.partitions, maxAgeMs: config.usage.maxAgeMs });
  const partitionWorker = new UsagePartitionWorker(partitions, logger.child({ module: 'partitions' }), config.partitions.intervalMs);
  await partitionWorker.start();
  const held = (customerId: string) => accounts.heldByWallet(customerId);
  const usageReports = new UsageReportService(pools.read, customers, subscriptions, wallets, held, clock);
  const usageEvents = new UsageEventListService(new UsageEventListRepository(pools.read));
  // Price simulations read much: on the read pool, one statement at most a minute, a quarter at most.
  const simulations = new SimulationService(new SimulationRepository(pools.read), { statementTimeoutMs: 60_000, maxWindowDays: 92 });
  // Margins aggregate a window of events: on the read pool (its statement timeout), a quarter at most.
  const margins = new MarginService(new MarginRepository(pools.read), MAX_MARGIN_DAYS);
  const services: Services = { apiKeys, customerTokens, currencies, customers, meters, plans, wallets, rules, previews, subscriptions, accounts, usage, reservations, sweeper, reconciler, driftMonitor, alerts, webhooks, webhookWorker, publisher, invoices, taxes, usageReports, partitions, payments, dunning, recharges, rechargeWorker, testClocks };

  // node(id:) answers with every type a resolver registers (NodeSource): buildAppSchema collects them.
  const nodes = new NodeRegistry();
  const schema = await buildAppSchema(
    new Map<Function, object>([
      [ApiKeyResolver, new ApiKeyResolver(apiKeys)],
      [CustomerTokenResolver, new CustomerTokenResolver(customerTokens)],
      [CurrencyResolver, new CurrencyResolver(currencies)],
      [CustomerResolver, new CustomerResolver(customers)],
      [CustomerWalletsResolver, new CustomerWalletsResolver(wallets, held)],
      [MeterResolver, new MeterResolver(meters)],
      [PlanResolver, new PlanResolver(plans)],
      [RuleSetResolver, new RuleSetResolver(rules, previews)],
      [SimulationResolver, new SimulationResolver(simulations)],
      [MarginResolver, new MarginResolver(margins)],
      [ReservationResolver, new ReservationResolver(reservations)],
      [SubscriptionResolver, new SubscriptionResolver(subscriptions)],
      [UsageResolver, new UsageResolver(usage)],
      [UsageReportResolver, new UsageReportResolver(usageReports)],
      [UsageEventListResolver, new UsageEventListResolver(usageEvents)],
      [WalletResolver, new WalletResolver(wallets, held)],
      [LiveResolver, new LiveResolver()],
      [AlertResolver, new AlertResolver(alerts)],
      [WebhookResolver, new WebhookResolver(webhooks)],
      [InvoiceResolver, new InvoiceResolver(invoices)],
      [InvoiceDocumentResolver, new InvoiceDocumentResolver(invoiceDocuments)],
      [PaymentResolver, new PaymentResolver(payments)],
      [InvoicePaymentsResolver, new InvoicePaymentsResolver(payments)],
      [TaxRateResolver, new TaxRateResolver(taxes)],
      [TestClockResolver, new TestClockResolver(testClocks)],
      [CustomerTestClockResolver, new CustomerTestClockResolver(testClocks)],
      [NodeResolver, new NodeResolver(new NodeService(nodes, new NodeRepository(sql)))],
    ]),
    nodes,
  );

  const formatError = createErrorFormatter(logger, config.graphql.stackTraces, { hideSchemaDetails: config.graphql.hideSchemaDetails, limits: config.limits });
  // One guard for HTTP and WebSocket: limits on the document, cost per credential, rate limits.
  const guard = new OperationGuard(schema, config.limits, rateLimits);
  // One gate for every read: GraphQL queries and usage exports wait in the same line.
  const readGate = new ReadGate(config.readConcurrency);
  // Operations counted, timed and traced the same over HTTP and WebSocket.
  const operationTelemetry = { metrics, tracing, names: new OperationNames(schema) };
  const apollo = new ApolloServer<RequestContext>({
    schema,
    introspection: config.graphql.introspection,
    hideSchemaDetailsFromClientErrors: config.graphql.hideSchemaDetails,
    parseOptions: { maxTokens: config.limits.maxTokens },
    validationRules: limitRules(config.limits),
    plugins: [operationTelemetryPlugin(operationTelemetry), operationGuardPlugin(guard, readGate), variableErrorPlugin(formatError), ...(replica ? [readAfterWritePlugin((p) => replica.wrote(p.keyId))] : [])],
    includeStacktraceInErrorResponses: config.graphql.stackTraces,
    formatError,
    // Keys travel in the Authorization header, never in cookies, so a cross-site request
    // cannot carry them; CSRF prevention would only block legitimate GET queries.
    csrfPrevention: false,
  });
  await apollo.start();

  const context = async (req: IncomingMessage): Promise<RequestContext> => {
    try {
      const principal = await credentials.authenticate(req.headers.authorization);
      nameCaller(principal.keyId);
      return { principal, requestId: currentRequestId() ?? newId() };
    } catch (err) {
      // A credential not in the cache is read from the database: an outage then is retryable.
      const known = asUnavailable(err);
      throw known instanceof AppError ? toGraphQLError(known) : err;
    }
  };
  const graphql = createGraphQLHandler(apollo, context, config.bodyLimitBytes, tracing);

  let server: AppServer | undefined;
  const routes: Route[] = [
    { name: 'graphql', path: '/graphql', methods: ['GET', 'POST'], handle: ({ req, res, url }) => graphql(req, res, url.search) },
    ...invoiceRoutes({ documents: invoiceDocuments, credentials }),
    { name: 'healthz', path: '/healthz', methods: ['GET'], trace: false, handle: ({ res }) => sendJson(res, 200, { status: 'ok' }) },
    {
      name: 'readyz',
      trace: false,
      path: '/readyz',
      methods: ['GET'],
      handle: async ({ res }) => {
        const check = (p: Promise<unknown>, what: string) =>
          withTimeout(p, 2_000, what).then(
            () => 'ok',
            (err: Error) => `unavailable: ${err.message}`,
          );
        const [postgres, reservationStore] = await Promise.all([check(sql.ping(), 'postgres'), check(store.ping(), store.kind)]);
        // Refused rule files are reported; pricing is down only when no version serves.
        const rules = services.rules.health();
        const ready = postgres === 'ok' && reservationStore === 'ok' && rules.ready && !server?.isDraining;
        // The replica is reported, never required: without it, reads go to the primary.
        const replicaCheck = replica ? { readReplica: replica.health() } : {};
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: { postgres, reservationStore, rules, ...replicaCheck }, draining: !!server?.isDraining });
      },
    },
    {
      name: 'metrics',
      path: '/metrics',
      trace: false,
      methods: ['GET'],
      handle: async ({ res }) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
      },
    },
    ...usageRoutes({ usage, credentials, rates: rateLimits, bodyLimit: config.bodyLimitBytes, wrote: replica ? (p) => replica.wrote(p.keyId) : undefined }),
    ...usageReportRoutes({
      reports: usageReports,
      credentials,
      rates: rateLimits,
      reads: readGate,
      limits: config.limits,
      meterNames: async (codes) => new Map((await meters.findByCodes(codes)).map((m) => [m.code, m.name])),
    }),
    ...dashboardRoutes(),
    ...(stripe ? stripeWebhookRoutes({ stripe, payments, settleRecharge: (s) => recharges.settle(s), bodyLimit: config.bodyLimitBytes, logger: logger.child({ module: 'stripe' }) }) : []),
  ];
  server = new AppServer({ routes, wsPath: '/graphql', maxMessageBytes: config.bodyLimitBytes, logger, metrics, tracing });
  metrics.read({ sockets: () => server!.ws.clients.size });
  const wsDisposable = serveGraphQLOverWebSocket(server.ws, schema, credentials, sockets, formatError, live, {
    initTimeoutMs: config.live.wsInitTimeoutMs,
    limits: config.limits,
    guard,
    introspection: config.graphql.introspection,
    telemetry: operationTelemetry,
  });

  let stopped = false;
  return {
    config,
    logger,
    clock,
    orm,
    sql,
    store,
    services,
    schema,
    server,
    tracing,
    listen: () => server.listen(config.port, config.host),
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop(config.shutdownTimeoutMs);
      // server.stop already closed the sockets and the WebSocket server; this clears graphql-ws timers.
      await Promise.resolve(wsDisposable.dispose()).catch(() => undefined);
      await apollo.stop();
      await invoices.stop();
      await dunning.stop();
      await rechargeWorker.stop();
      standings.stop();
      await partitionWorker.stop();
      sweeper.stop();
      await driftMonitor.stop();
      clearInterval(relayTimer);
      await webhookWorker.stop();
      accounts.stop();
      await usage.drain();
      await publisher.stop();
      notices.stop();
      sockets.stop();
      await bus.close();
      rules.stop();
      await store.close();
      await closeSqlPools(pools);
      await orm.close();
      await embedded?.stop();
      // Last, so that the spans of the drain are sent too; a collector that does not answer
      // must not hold the exit up.
      await withTimeout(tracing.shutdown(), 5_000, 'sending the last spans').catch((err: Error) => logger.warn({ err: err.message }, 'tracing did not shut down cleanly'));
    },
  };
}
