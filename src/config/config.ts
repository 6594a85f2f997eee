import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(20),
  REDIS_URL: z.string().url().optional(),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{0,64}$/).default('billing:'),
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((v) => v.split(',').map((node) => node.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^(?:rediss?:\/\/\S+|[A-Za-z0-9.-]+:\d{1,5}|\[[0-9A-Fa-f:]+\]:\d{1,5})$/, 'each node is host:port, or a redis:// or rediss:// URL')).min(1))
    .optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(54329),
  MIGRATE_ON_START: bool.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GRAPHQL_INTROSPECTION: bool.optional(),
  GRAPHQL_STACKTRACES: bool.optional(),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  PUBLIC_URL: z.string().url().optional(),
  RULES_DIR: z.string().min(1).default('rules'),
  RULES_WATCH: bool.default(true),
  RULES_REFRESH_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  USAGE_MAX_AGE_DAYS: z.coerce.number().int().min(0).max(400).default(35),
  USAGE_MAX_FUTURE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  USAGE_HOLD_SECONDS: z.coerce.number().int().min(5).max(3_600).default(60),
  USAGE_PARTITIONS_AHEAD_MONTHS: z.coerce.number().int().min(1).max(24).default(3),
  USAGE_PARTITIONS_INTERVAL_MS: z.coerce.number().int().min(0).max(7 * 86_400_000).default(86_400_000),
  USAGE_RETENTION_MONTHS: z.coerce.number().int().min(1).max(1_200).optional(),
  GROUP_COMMIT_MAX_BATCH: z.coerce.number().int().min(1).max(20_000).default(2_000),
  GROUP_COMMIT_LANES: z.coerce.number().int().min(1).max(16).default(2),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(12),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(1).max(10_000).default(30),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(10_000),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(1_000).default(20),
  QUERY_COST_LIMIT_CUSTOMER_TOKEN: z.coerce.number().int().min(1).default(2_000),
  QUERY_COST_LIMIT_CUSTOMER: z.coerce.number().int().min(1).default(5_000),
  QUERY_COST_LIMIT_INGEST: z.coerce.number().int().min(1).default(10_000),
  QUERY_COST_LIMIT_ADMIN: z.coerce.number().int().min(1).default(100_000),
  RATE_LIMIT_READ_MULTIPLE: z.coerce.number().int().min(1).max(100_000).default(10),
  RATE_LIMIT_INGEST_PER_SECOND: z.coerce.number().int().min(1).default(100_000),
  RATE_LIMIT_WRITE_PER_SECOND: z.coerce.number().int().min(1).default(200),
  WS_MAX_SOCKETS_PER_CREDENTIAL: z.coerce.number().int().min(1).max(100_000).default(20),
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).max(10_000).default(50),
  DATABASE_READ_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(6),
  READ_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(4),
  READ_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  DATABASE_READ_URL: z.string().url().optional(),
  READ_AFTER_WRITE_WAIT_MS: z.coerce.number().int().min(0).max(10_000).default(200),
  READ_REPLICA_MAX_LAG_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  READ_REPLICA_CHECK_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(5_000),
  STORE_CHECK_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  STORE_CHECK_SAMPLE: z.coerce.number().int().min(1).max(10_000).default(20),
  STORE_CHECK_REPAIR: bool.default(true),
  WS_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  OUTBOX_RELAY_MS: z.coerce.number().int().min(0).max(3_600_000).default(5_000),
  CREDENTIAL_RECHECK_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  WEBHOOK_POLL_MS: z.coerce.number().int().min(10).max(3_600_000).default(1_000),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(1_000),
  WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(3_600_000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
  WEBHOOK_DISABLE_AFTER: z.coerce.number().int().min(1).max(10_000).default(50),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),
  // Shorter than the shortest billing period (a week), so a period is final before the next closes.
  INVOICE_GRACE_MS: z.coerce.number().int().min(0).max(6 * 86_400_000).default(86_400_000),
  INVOICE_CLOSE_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  INVOICE_CLOSE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  INVOICE_NUMBERING: z.enum(['ORGANIZATION', 'CUSTOMER']).default('ORGANIZATION'),
  INVOICE_NUMBER_PREFIX: z.string().regex(/^[A-Z0-9-]{1,12}$/).default('INV'),
  INVOICE_PRORATION: z.enum(['DAY', 'SECOND']).default('DAY'),
  INVOICE_ROUNDING: z.enum(['HALF_UP', 'HALF_EVEN']).default('HALF_UP'),
  DUNNING_RETRY_DAYS: z
    .string()
    .default('1,3,5,7')
    .transform((v) => v.split(',').map((d) => d.trim()).filter(Boolean).map(Number))
    .pipe(z.array(z.number().int().min(1).max(365)).min(1).max(20).refine((days) => days.every((d, i) => i === 0 || d > days[i - 1]!), 'days must increase')),
  DUNNING_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  // How long a provider's payment (or auto-recharge charge) may stay PENDING, waiting for its
  // webhook, before the workers ask the provider; then again each as long while it stays pending.
  PAYMENT_PENDING_CHECK_MINUTES: z.coerce.number().int().min(1).max(10_080).default(15),
  STRIPE_SECRET_KEY: z.string().regex(/^(?:sk|rk)_(?:test|live)_[A-Za-z0-9_]+$/, 'a Stripe secret (sk_…) or restricted (rk_…) key').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9+/=_-]+$/, "the signing secret of the Stripe webhook endpoint (whsec_…)").optional(),
  STRIPE_API_BASE: z.string().url().optional(),
  WALLET_RECHARGE_POLL_MS: z.coerce.number().int().min(0).max(3_600_000).default(1_000),
  INVOICE_PAYMENT_TERMS_DAYS: z.coerce.number().int().min(0).max(365).default(14),
  // The seller printed on invoices; SELLER_ADDRESS has one line per address line ("\n" separates them too).
  SELLER_NAME: z.string().trim().min(1).max(200).optional(),
  SELLER_ADDRESS: z
    .string()
    .transform((v) => v.split(/\r?\n|\\n/).map((line) => line.trim()).filter(Boolean))
    .pipe(z.array(z.string().max(200)).max(8))
    .optional(),
  SELLER_TAX_ID: z.string().trim().min(1).max(64).optional(),
  SELLER_EMAIL: z.string().trim().email().optional(),
  // Signs invoice links (HMAC-SHA256); at least 32 characters of random text.
  LINK_SIGNING_SECRET: z.string().min(32).optional(),
  // OpenTelemetry's standard variables: tracing is off unless an OTLP endpoint is given.
  OTEL_SDK_DISABLED: bool.default(false),
  OTEL_SERVICE_NAME: z.string().min(1).max(200).default('billing'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  OTEL_TRACES_SAMPLER: z.enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
});

/** Every environment variable the service reads, with its default (null when it has none). */
export function configVariables(): Array<{ name: string; default: string | null }> {
  return Object.entries(schema.shape).map(([name, field]) => {
    const parsed = (field as z.ZodType).safeParse(undefined);
    const value = parsed.success ? parsed.data : undefined;
    return { name, default: value === undefined ? null : String(value) };
  });
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** Unset means: start the embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** Unset means: the in-process reservation store (one instance only). */
  redisUrl: string | undefined;
  redisPrefix: string;
  /** Seed nodes of a Redis Cluster (instead of redisUrl): `host:port`, or redis(s):// URLs. */
  redisClusterNodes: string[] | undefined;
  dataDir: string;
  embeddedPgPort: number;
  migrateOnStart: boolean;
  logLevel: string;
  graphql: { introspection: boolean; stackTraces: boolean; hideSchemaDetails: boolean };
  limits: Limits;
  /** Connections of the pool that serves reads (usage queries, invoices), apart from money paths. */
  databaseReadPoolSize: number;
  /** Longest a read statement may run before PostgreSQL cancels it. */
  readStatementTimeoutMs: number;
  /** Queries executing at once per instance (the rest wait their turn). */
  readConcurrency: number;
  /** A streaming replica of DATABASE_URL that serves the read pool's reads (src/db/read-replica.ts). */
  readReplica: {
    /** Unset means: reads run on the primary. */
    url: string | undefined;
    /** How long a read of a caller who has written waits for the replica to replay it before going to the primary. */
    readAfterWriteWaitMs: number;
    /** A replica further behind than this serves no reads. */
    maxLagMs: number;
    /** How often the replica's state and lag are measured. */
    checkIntervalMs: number;
  };
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  publicUrl: string | undefined;
  rules: { dir: string; watch: boolean; refreshMs: number };
  usage: {
    /** How far in the past an event's timestamp may be. */
    maxAgeMs: number;
    /** How far in the future (clock skew). */
    maxFutureMs: number;
    /** How long a usage hold lasts before the sweep resolves it. */
    holdMs: number;
    groupCommitMaxBatch: number;
    groupCommitLanes: number;
    /** How often expired holds and reservations are swept; 0 turns the sweep off. */
    sweepIntervalMs: number;
  };
  storeCheck: {
    /** How often a sample of customers' store state is compared with PostgreSQL; 0 turns it off. */
    intervalMs: number;
    /** Customers compared per round: the most recently active first. */
    sample: number;
    /** Drop (and so rebuild from PostgreSQL) the state of a customer found drifting. */
    repair: boolean;
  };
  live: {
    /** How long a WebSocket may wait before connection_init (then 4408). */
    wsInitTimeoutMs: number;
    /** How often unpublished outbox rows are looked for; 0 turns the relay off. */
    outboxRelayMs: number;
    /** How often open sockets' credentials are re-read, in case a revocation notice was lost (0: never). */
    credentialRecheckMs: number;
  };
  webhooks: {
    pollMs: number;
    timeoutMs: number;
    /** Retry n waits retryBaseMs * 2^(n-1), at most retryMaxMs. */
    retryBaseMs: number;
    retryMaxMs: number;
    /** Attempts per delivery before it is marked FAILED. */
    maxAttempts: number;
    /** Failed attempts in a row after which an endpoint is disabled. */
    disableAfter: number;
    /**
     * Lets endpoints point at loopback, private (RFC 1918), unique-local and carrier-grade-NAT
     * addresses, for receivers on premises. Off, webhooks cannot reach the internal network.
     */
    allowPrivateNetworks: boolean;
  };
  invoices: InvoiceConfig;
  dunning: DunningConfig;
  /** Stripe as a payment provider; null when STRIPE_SECRET_KEY is unset. */
  stripe: StripeConfig | null;
  /**
   * Auto-recharge of prepaid wallets: how often each instance looks for recharges to charge (0:
   * never), and how long a charge stays pending before its provider is asked (PAYMENT_PENDING_CHECK_MINUTES).
   */
  recharges: { pollMs: number; pendingCheckMs: number };
  partitions: PartitionConfig;
  /** OpenTelemetry tracing; null (off, no SDK started) unless an OTLP endpoint is configured. */
  tracing: TracingConfig | null;
}

/** What one caller may ask of the API; see the README's "Security model". */
export interface Limits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  /** The most one operation may cost, by kind of credential. */
  cost: { customerToken: number; customer: number; ingest: number; admin: number };
  /** Per credential and minute, reads may cost this many times the credential's per-operation limit. */
  readMultiple: number;
  /** Usage events per credential and second. */
  ingestPerSecond: number;
  /** Other mutations per credential and second. */
  writePerSecond: number;
  socketsPerCredential: number;
  subscriptionsPerSocket: number;
}

export interface InvoiceConfig {
  /** How long a closed period's invoice stays a draft that late events still reach. */
  graceMs: number;
  /** How often the service closes due periods; 0 turns the scheduler off. */
  closeIntervalMs: number;
  /** Customers closed at once (each in its own transaction). */
  closeConcurrency: number;
  /** Invoice numbers count per organization (one sequence) or per customer. */
  numbering: 'ORGANIZATION' | 'CUSTOMER';
  numberPrefix: string;
  proration: 'DAY' | 'SECOND';
  /** The one rounding step: each line to the currency's exponent. */
  rounding: 'HALF_UP' | 'HALF_EVEN';
  /** Days after finalization an invoice falls due, unless its customer has its own terms. */
  paymentTermsDays: number;
  /** Who issues the invoices, frozen onto each one when it is finalized; null when not configured. */
  seller: SellerIdentity | null;
  /** Key of the HMAC that signs invoice links; unset outside production: a random one per process. */
  linkSigningSecret: string | undefined;
}

export interface SellerIdentity {
  name: string;
  /** The postal address, one entry per printed line. */
  address: string[];
  taxId: string | null;
  email: string | null;
}

/** Retrying failed invoice payments (README, "Collecting payments"). */
export interface DunningConfig {
  /** Days after an invoice's first failed payment on which a retry is due, unless its plan sets its own. */
  retryDays: number[];
  /** How often each instance looks for due retries; 0 turns the worker off. */
  intervalMs: number;
  /**
   * How long a payment stays PENDING at a provider that collects, waiting for its webhook, before
   * the worker asks the provider where it stands; then again each as long (PAYMENT_PENDING_CHECK_MINUTES).
   */
  pendingCheckMs: number;
}

/** Stripe (README, "Collecting payments"). */
export interface StripeConfig {
  secretKey: string;
  /** Verifies the signatures of the events Stripe sends to /v1/providers/stripe/webhook. */
  webhookSecret: string;
  /** Where the API is (STRIPE_API_BASE); null: api.stripe.com. */
  api: { host: string; port: number; protocol: 'http' | 'https' } | null;
}

/** usage_event's monthly partitions and the retention of raw events (README, "Partitions and retention"). */
export interface PartitionConfig {
  /** Months after the current one that have their partition ready. */
  aheadMonths: number;
  /** How often partitions are created ahead (and old months dropped, with retention); 0: at start only. */
  intervalMs: number;
  /** Raw events are dropped by whole months older than this once invoiced and final; null keeps them forever. */
  retentionMonths: number | null;
}

export interface TracingConfig {
  serviceName: string;
  /** Where spans are sent: OTLP/HTTP (JSON), the full URL of the traces path. */
  tracesUrl: string;
  sampler: 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
  /** The ratio of the ratio samplers (0 to 1). */
  samplerRatio: number;
}

/**
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the traces URL itself; OTEL_EXPORTER_OTLP_ENDPOINT is
 * the base that every signal's path (here /v1/traces) is appended to, as the specification says.
 */
function tracingConfig(e: z.infer<typeof schema>): TracingConfig | null {
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracesUrl = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!tracesUrl || e.OTEL_SDK_DISABLED) return null;
  return { serviceName: e.OTEL_SERVICE_NAME, tracesUrl, sampler: e.OTEL_TRACES_SAMPLER, samplerRatio: e.OTEL_TRACES_SAMPLER_ARG ?? 1 };
}

function stripeConfig(e: z.infer<typeof schema>): StripeConfig | null {
  if (!e.STRIPE_SECRET_KEY) return null;
  const base = e.STRIPE_API_BASE ? new URL(e.STRIPE_API_BASE) : null;
  const protocol = base?.protocol === 'http:' ? 'http' : 'https';
  const api = base ? { host: base.hostname, port: base.port ? Number(base.port) : protocol === 'http' ? 80 : 443, protocol } as const : null;
  return { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET!, api };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once, reporting every problem together. Nothing else in the code
 * reads process.env: everything it needs is in the Config this returns.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production && e.GRAPHQL_STACKTRACES) {
    throw new ConfigError(['GRAPHQL_STACKTRACES: stack traces may not be sent to clients in production']);
  }
  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) {
    throw new ConfigError(['REDIS_CLUSTER_NODES: set REDIS_URL for one Redis or REDIS_CLUSTER_NODES for a Redis Cluster, not both']);
  }
  if (e.DATABASE_READ_URL && !e.DATABASE_URL) {
    throw new ConfigError(['DATABASE_READ_URL: a read replica needs DATABASE_URL, the primary it replicates']);
  }
  if (production && !e.LINK_SIGNING_SECRET) {
    throw new ConfigError(['LINK_SIGNING_SECRET: required in production, so that invoice links signed by one instance open on every other and survive restarts']);
  }
  if (!!e.STRIPE_SECRET_KEY !== !!e.STRIPE_WEBHOOK_SECRET) {
    throw new ConfigError(['STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: set both (the API key and the signing secret of the webhook endpoint) or neither']);
  }
  if (e.STRIPE_API_BASE && !/^https?:$/.test(new URL(e.STRIPE_API_BASE).protocol)) {
    throw new ConfigError(['STRIPE_API_BASE: an http:// or https:// origin']);
  }
  if (!e.SELLER_NAME && (e.SELLER_ADDRESS || e.SELLER_TAX_ID || e.SELLER_EMAIL)) {
    throw new ConfigError(['SELLER_NAME: required with SELLER_ADDRESS, SELLER_TAX_ID or SELLER_EMAIL']);
  }
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    dataDir: path.resolve(e.DATA_DIR),
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    migrateOnStart: e.MIGRATE_ON_START,
    logLevel: e.LOG_LEVEL,
    graphql: {
      introspection: e.GRAPHQL_INTROSPECTION ?? !production,
      stackTraces: e.GRAPHQL_STACKTRACES ?? false,
      // "Did you mean …" suggestions name fields a caller did not know: masked in production.
      hideSchemaDetails: production,
    },
    limits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      cost: { customerToken: e.QUERY_COST_LIMIT_CUSTOMER_TOKEN, customer: e.QUERY_COST_LIMIT_CUSTOMER, ingest: e.QUERY_COST_LIMIT_INGEST, admin: e.QUERY_COST_LIMIT_ADMIN },
      readMultiple: e.RATE_LIMIT_READ_MULTIPLE,
      ingestPerSecond: e.RATE_LIMIT_INGEST_PER_SECOND,
      writePerSecond: e.RATE_LIMIT_WRITE_PER_SECOND,
      socketsPerCredential: e.WS_MAX_SOCKETS_PER_CREDENTIAL,
      subscriptionsPerSocket: e.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
    },
    databaseReadPoolSize: e.DATABASE_READ_POOL_SIZE,
    readStatementTimeoutMs: e.READ_STATEMENT_TIMEOUT_MS,
    readConcurrency: e.READ_CONCURRENCY,
    readReplica: { url: e.DATABASE_READ_URL, readAfterWriteWaitMs: e.READ_AFTER_WRITE_WAIT_MS, maxLagMs: e.READ_REPLICA_MAX_LAG_MS, checkIntervalMs: e.READ_REPLICA_CHECK_MS },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    publicUrl: e.PUBLIC_URL,
    rules: { dir: path.resolve(e.RULES_DIR), watch: e.RULES_WATCH, refreshMs: e.RULES_REFRESH_MS },
    usage: {
      maxAgeMs: e.USAGE_MAX_AGE_DAYS * 86_400_000,
      maxFutureMs: e.USAGE_MAX_FUTURE_SECONDS * 1000,
      holdMs: e.USAGE_HOLD_SECONDS * 1000,
      groupCommitMaxBatch: e.GROUP_COMMIT_MAX_BATCH,
      groupCommitLanes: e.GROUP_COMMIT_LANES,
      sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    },
    storeCheck: { intervalMs: e.STORE_CHECK_INTERVAL_MS, sample: e.STORE_CHECK_SAMPLE, repair: e.STORE_CHECK_REPAIR },
    live: { wsInitTimeoutMs: e.WS_INIT_TIMEOUT_MS, outboxRelayMs: e.OUTBOX_RELAY_MS, credentialRecheckMs: e.CREDENTIAL_RECHECK_MS },
    webhooks: {
      pollMs: e.WEBHOOK_POLL_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: e.WEBHOOK_RETRY_MAX_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      disableAfter: e.WEBHOOK_DISABLE_AFTER,
      allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    },
    invoices: {
      graceMs: e.INVOICE_GRACE_MS,
      closeIntervalMs: e.INVOICE_CLOSE_INTERVAL_MS,
      closeConcurrency: e.INVOICE_CLOSE_CONCURRENCY,
      numbering: e.INVOICE_NUMBERING,
      numberPrefix: e.INVOICE_NUMBER_PREFIX,
      proration: e.INVOICE_PRORATION,
      rounding: e.INVOICE_ROUNDING,
      paymentTermsDays: e.INVOICE_PAYMENT_TERMS_DAYS,
      seller: e.SELLER_NAME ? { name: e.SELLER_NAME, address: e.SELLER_ADDRESS ?? [], taxId: e.SELLER_TAX_ID ?? null, email: e.SELLER_EMAIL ?? null } : null,
      linkSigningSecret: e.LINK_SIGNING_SECRET,
    },
    dunning: { retryDays: e.DUNNING_RETRY_DAYS, intervalMs: e.DUNNING_INTERVAL_MS, pendingCheckMs: e.PAYMENT_PENDING_CHECK_MINUTES * 60_000 },
    stripe: stripeConfig(e),
    recharges: { pollMs: e.WALLET_RECHARGE_POLL_MS, pendingCheckMs: e.PAYMENT_PENDING_CHECK_MINUTES * 60_000 },
    partitions: {
      aheadMonths: e.USAGE_PARTITIONS_AHEAD_MONTHS,
      intervalMs: e.USAGE_PARTITIONS_INTERVAL_MS,
      retentionMonths: e.USAGE_RETENTION_MONTHS ?? null,
    },
    tracing: tracingConfig(e),
  };
}
