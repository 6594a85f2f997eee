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

  it('turns introspection off in production unless asked, and never sends stack traces there', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).graphql).toEqual({ introspection: false, stackTraces: false, hideSchemaDetails: true });
    expect(loadConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' }).graphql.introspection).toBe(true);
    expect(() => loadConfig({ NODE_ENV: 'production', GRAPHQL_STACKTRACES: 'true' })).toThrow(/production/);
  });
});
