import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('configuration', () => {
  it('has defaults for a local start', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.graphql).toEqual({ introspection: true, stackTraces: false, hideSchemaDetails: false });
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'not a url', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toMatch(/PORT/);
      expect(problems).toMatch(/DATABASE_URL/);
      expect(problems).toMatch(/LOG_LEVEL/);
    }
  });

  it('takes a Redis Cluster as seed nodes, instead of one Redis', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7000,rediss://user:secret@cache.example:6380' }).redisClusterNodes).toEqual([
      '10.0.0.1:7000',
      '10.0.0.2:7000',
      'rediss://user:secret@cache.example:6380',
    ]);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redisClusterNodes).toBeUndefined();
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1' })).toThrow(/REDIS_CLUSTER_NODES.0: each node is host:port/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: ' , ' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '10.0.0.1:7000' })).toThrow(/not both/);
  });

  it('turns introspection off in production unless asked, and never sends stack traces there', () => {
    const production = { NODE_ENV: 'production', LINK_SIGNING_SECRET: 'x'.repeat(32) };
    expect(loadConfig(production).graphql).toEqual({ introspection: false, stackTraces: false, hideSchemaDetails: true });
    expect(loadConfig({ ...production, GRAPHQL_INTROSPECTION: 'true' }).graphql.introspection).toBe(true);
    expect(() => loadConfig({ ...production, GRAPHQL_STACKTRACES: 'true' })).toThrow(/production/);
  });

  it('needs the invoice link secret in production, and reads the seller printed on invoices', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/LINK_SIGNING_SECRET: required in production/);
    expect(() => loadConfig({ LINK_SIGNING_SECRET: 'too short' })).toThrow(/LINK_SIGNING_SECRET/);
    expect(loadConfig({}).invoices).toMatchObject({ paymentTermsDays: 14, seller: null, linkSigningSecret: undefined });
    const seller = loadConfig({ SELLER_NAME: ' Acme GmbH ', SELLER_ADDRESS: 'Hauptstraße 1\\n10115 Berlin\n\nGermany', SELLER_TAX_ID: 'DE123', INVOICE_PAYMENT_TERMS_DAYS: '30' }).invoices;
    expect(seller).toMatchObject({ paymentTermsDays: 30, seller: { name: 'Acme GmbH', address: ['Hauptstraße 1', '10115 Berlin', 'Germany'], taxId: 'DE123', email: null } });
    expect(() => loadConfig({ SELLER_TAX_ID: 'DE123' })).toThrow(/SELLER_NAME: required/);
    expect(() => loadConfig({ SELLER_NAME: 'A', SELLER_EMAIL: 'nope' })).toThrow(/SELLER_EMAIL/);
    expect(() => loadConfig({ INVOICE_PAYMENT_TERMS_DAYS: '366' })).toThrow(/INVOICE_PAYMENT_TERMS_DAYS/);
  });

  it('takes a read replica only beside the primary it replicates', () => {
    expect(loadConfig({}).readReplica).toEqual({ url: undefined, readAfterWriteWaitMs: 200, maxLagMs: 10_000, checkIntervalMs: 1_000 });
    const primary = 'postgres://db.internal/billing';
    expect(loadConfig({ DATABASE_URL: primary, DATABASE_READ_URL: 'postgres://replica.internal/billing', READ_AFTER_WRITE_WAIT_MS: '50' }).readReplica).toMatchObject({ url: 'postgres://replica.internal/billing', readAfterWriteWaitMs: 50 });
    expect(() => loadConfig({ DATABASE_READ_URL: 'postgres://replica.internal/billing' })).toThrow(/DATABASE_READ_URL/);
  });
});

describe('Stripe', () => {
  it('is off without a key; takes the key and the webhook secret together, and an API base for a server of its own', () => {
    expect(loadConfig({}).stripe).toBeNull();
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_xyz' }).stripe).toEqual({ secretKey: 'sk_test_abc', webhookSecret: 'whsec_xyz', api: null });
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_xyz', STRIPE_API_BASE: 'http://127.0.0.1:12111' }).stripe!.api).toEqual({ host: '127.0.0.1', port: 12111, protocol: 'http' });
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_xyz', STRIPE_API_BASE: 'https://stripe.internal' }).stripe!.api).toEqual({ host: 'stripe.internal', port: 443, protocol: 'https' });
    expect(() => loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc' })).toThrow(/STRIPE_WEBHOOK_SECRET/);
    expect(() => loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_xyz' })).toThrow(/STRIPE_SECRET_KEY/);
    expect(() => loadConfig({ STRIPE_SECRET_KEY: 'pk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_xyz' })).toThrow(/STRIPE_SECRET_KEY/);
    expect(() => loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_xyz', STRIPE_API_BASE: 'ftp://x' })).toThrow(/STRIPE_API_BASE/);
  });
});
