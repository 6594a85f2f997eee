import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { appendFile, chown, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './process.js';

const run = promisify(execFile);

/**
 * A PostgreSQL primary and a streaming replica of it, each a cluster of its own in a temporary
 * folder on a free loopback port, started by the test that uses them: the server the rest of the
 * suite shares is never touched.
 */
export interface PgReplicaPair {
  /** postgres://…/billing on the primary (an empty database: the app migrates it). */
  primaryUrl: string;
  /** The same database on the replica. */
  replicaUrl: string;
  /** Runs one statement on the primary or the replica (database `billing`) and returns its rows. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(on: 'primary' | 'replica', text: string, params?: unknown[]): Promise<R[]>;
  /** Stops and starts the replica (the primary stays up). */
  stopReplica(): Promise<void>;
  startReplica(): Promise<void>;
  /** Stops both servers and deletes their folders. */
  stop(): Promise<void>;
}

/** The folder of initdb, pg_ctl and pg_basebackup: `TEST_PG_BIN`, `pg_config --bindir`, or the newest under /usr/lib/postgresql. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env.TEST_PG_BIN) candidates.push(process.env.TEST_PG_BIN);
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // No pg_config on the PATH: look for installed versions.
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  const found = candidates.find((dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_basebackup')));
  if (!found) throw new Error('no PostgreSQL server binaries found (initdb, pg_basebackup): set TEST_PG_BIN');
  return found;
}

/** PostgreSQL refuses to run as root: as root, the servers run as the `postgres` user. */
const asRoot = process.getuid?.() === 0;

function ids(user: string): { uid: number; gid: number } {
  return { uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' })) };
}

async function pgRun(bin: string, args: string[]): Promise<string> {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  try {
    const { stdout } = await run(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const urlOf = (port: number, database = 'billing') => `postgres://postgres@127.0.0.1:${port}/${database}`;

async function queryOnce<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * initdb a primary (wal_level=replica, replication trusted from 127.0.0.1), start it, create
 * database `billing`, pg_basebackup -R a replica, start it, and wait until it is a standby in
 * recovery. Whatever fails on the way, the servers started are stopped and the folder deleted.
 */
export async function startPgReplicaPair(): Promise<PgReplicaPair> {
  const bin = postgresBinDir();
  const tool = (name: string) => path.join(bin, name);
  const root = await mkdtemp(path.join(tmpdir(), 'billing-replica-'));
  const primaryDir = path.join(root, 'primary');
  const replicaDir = path.join(root, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const running = new Set<string>();

  const start = async (dir: string, port: number) => {
    await pgRun(tool('pg_ctl'), ['-D', dir, '-l', path.join(root, `${path.basename(dir)}.log`), '-w', '-t', '60', '-o', `-p ${port}`, 'start']);
    running.add(dir);
  };
  const stopServer = async (dir: string) => {
    if (!running.has(dir)) return;
    running.delete(dir);
    await pgRun(tool('pg_ctl'), ['-D', dir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
  };
  // A test process that dies without stop() still leaves no server behind.
  const onExit = () => {
    for (const dir of running) {
      try {
        execFileSync(asRoot ? 'runuser' : tool('pg_ctl'), [...(asRoot ? ['-u', 'postgres', '--', tool('pg_ctl')] : []), '-D', dir, '-m', 'immediate', 'stop'], { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async () => {
    await stopServer(replicaDir);
    await stopServer(primaryDir);
    process.removeListener('exit', onExit);
    rmSync(root, { recursive: true, force: true });
  };

  try {
    if (asRoot) {
      const { uid, gid } = ids('postgres');
      await chown(root, uid, gid);
    }
    await pgRun(tool('initdb'), ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    await appendFile(
      path.join(primaryDir, 'postgresql.conf'),
      [
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${root}'`,
        'wal_level = replica',
        'max_wal_senders = 4',
        'hot_standby = on',
        // A throwaway cluster: durability buys nothing and costs the test time.
        'fsync = off',
        'full_page_writes = off',
        'max_connections = 100',
        '',
      ].join('\n'),
    );
    await appendFile(path.join(primaryDir, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 trust\n');
    await start(primaryDir, primaryPort);
    await queryOnce(urlOf(primaryPort, 'postgres'), 'create database billing');
    await pgRun(tool('pg_basebackup'), ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
    await start(replicaDir, replicaPort);
    await waitUntil('the replica to be in recovery', async () => (await queryOnce<{ r: boolean }>(urlOf(replicaPort), 'select pg_is_in_recovery() as r'))[0]!.r);
    await waitUntil('the replica to stream', async () => (await queryOnce(urlOf(primaryPort), "select 1 from pg_stat_replication where state = 'streaming'")).length > 0);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    primaryUrl: urlOf(primaryPort),
    replicaUrl: urlOf(replicaPort),
    query: (on, text, params) => queryOnce(urlOf(on === 'primary' ? primaryPort : replicaPort), text, params),
    stopReplica: () => stopServer(replicaDir),
    async startReplica() {
      await start(replicaDir, replicaPort);
      await waitUntil('the replica to accept connections', async () => (await queryOnce(urlOf(replicaPort), 'select 1')).length === 1);
    },
    stop,
  };
}
