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
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
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
    },
  };
}
