import { createApp, type App } from '../../app/app.js';
import { loadConfig, type Config } from '../../config/config.js';
import { Role } from '../../modules/api-keys/index.js';

/** A service listening, draining on SIGTERM or SIGINT. */
export interface Serving {
  app: App;
  config: Config;
  /** `http://127.0.0.1:<port>`: where it answers. */
  origin: string;
  /** True once a signal asked it to drain. */
  stopping(): boolean;
}

/**
 * Starts the service as `billing serve` does (`npm run demo` too): created, signals handled,
 * listening and announced. A signal at any point afterwards drains and exits.
 */
export async function startServing(): Promise<Serving> {
  const config = loadConfig();
  const app = await createApp({ config });
  // Before anything is served or announced: a SIGTERM that comes at once (a supervisor giving
  // up on a slow start) must drain, not kill the process half-way through its first steps.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'draining and shutting down');
    app.stop().then(
      () => process.exit(0),
      (err) => {
        app.logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  const address = await app.listen().catch(async (err: unknown) => {
    // The embedded PostgreSQL must not outlive a port already taken.
    await app.stop().catch(() => undefined);
    throw err;
  });
  const host = ['0.0.0.0', '::'].includes(address.address) ? '127.0.0.1' : address.address;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  app.logger.info({ url: `${origin}/graphql`, store: app.store.kind }, 'billing service listening');
  return { app, config, origin, stopping: () => stopping };
}

/** `billing serve`: runs the service until SIGTERM or SIGINT, then drains and exits. */
export async function serve(): Promise<void> {
  const { app, origin } = await startServing();

  if ((await app.services.apiKeys.count()) === 0) {
    const { secret } = await app.services.apiKeys.create({ name: 'bootstrap admin', role: Role.ADMIN });
    const body = JSON.stringify({ query: '{ apiKeys(first: 5) { nodes { name role createdAt } } }' });
    // On stderr: stdout carries the JSON log lines only.
    process.stderr.write(
      [
        '',
        'First start: created an ADMIN API key. Keep it; it is not shown again.',
        `  ${secret}`,
        '',
        'Try it:',
        `curl -s ${origin}/graphql -H 'Authorization: Bearer ${secret}' -H 'Content-Type: application/json' -d '${body}'`,
        '',
      ].join('\n') + '\n',
    );
  }
}
