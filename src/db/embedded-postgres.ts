import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Logger } from '../shared/logger.js';

export interface EmbeddedPostgres {
  url: string;
  /** Stops the server if this process started it; leaves it running if it was already up. */
  stop(): Promise<void>;
}

const DATABASE = 'billing';
const PASSWORD = 'postgres';
/** Where, as root, PostgreSQL's binaries and data go when the project folder is private to root. */
const SHARED_ROOT = '/var/lib/billing';
/** The file in DATA_DIR that says where the embedded PostgreSQL keeps its data, when not in DATA_DIR. */
const POINTER = 'embedded-postgres.json';

const urlFor = (port: number) => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;

async function answers(port: number): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database: 'postgres', connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The port a running PostgreSQL of this data folder listens on (line 4 of postmaster.pid). */
async function runningPort(pgDir: string): Promise<number | null> {
  const text = await readFile(path.join(pgDir, 'postmaster.pid'), 'utf8').catch(() => null);
  const port = Number(text?.split('\n')[3]);
  return Number.isInteger(port) && port > 0 ? port : null;
}

/** True when every folder on the way to `dir` lets other users pass (as the postgres user must). */
async function othersCanReach(dir: string): Promise<boolean> {
  let current = await realpath(dir);
  for (;;) {
    if (((await stat(current)).mode & 0o001) === 0) return false;
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

interface Location {
  /** The PostgreSQL data folder. */
  pgDir: string;
  /** Folder of initdb and postgres. */
  binDir: string;
}

/**
 * Where PostgreSQL runs from and keeps its data: `<dataDir>/pg` with the binaries of the
 * `embedded-postgres` package. As root, PostgreSQL runs as the "postgres" user, which must reach
 * both; in a folder it cannot enter (a home folder of mode 700, a common place to clone), the
 * binaries are copied to /var/lib/billing/postgres-<version> and the data kept in
 * /var/lib/billing/data-<hash of the data folder>, and a pointer file in the data folder says so.
 */
async function locate(dataDir: string, asRoot: boolean, logger: Logger): Promise<Location> {
  const platform = await import(`@embedded-postgres/${process.platform}-${process.arch}`).catch(() => {
    throw new Error(`the embedded PostgreSQL has no binaries for ${process.platform}-${process.arch}: set DATABASE_URL`);
  });
  const nativeDir = path.dirname(path.dirname(platform.postgres as string));
  let binDir = path.join(nativeDir, 'bin');
  const pointer = path.join(dataDir, POINTER);
  const pointed = existsSync(pointer) ? (JSON.parse(await readFile(pointer, 'utf8')) as { pgDir: string }).pgDir : null;
  let pgDir = pointed ?? path.join(dataDir, 'pg');
  if (!asRoot) return { pgDir, binDir };

  if (!(await othersCanReach(nativeDir))) {
    const version = JSON.parse(await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')).version as string;
    const shared = path.join(SHARED_ROOT, `postgres-${version}`);
    if (!existsSync(path.join(shared, 'bin', 'postgres'))) {
      logger.info({ from: nativeDir, to: shared }, 'copying the embedded PostgreSQL where its "postgres" user can reach it');
      await mkdir(SHARED_ROOT, { recursive: true, mode: 0o755 });
      await chmod(SHARED_ROOT, 0o755);
      const partial = `${shared}.${randomBytes(4).toString('hex')}`;
      await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
      await rm(shared, { recursive: true, force: true });
      await rename(partial, shared);
    }
    binDir = path.join(shared, 'bin');
  }
  if (!pointed && !(await othersCanReach(dataDir))) {
    const id = createHash('sha256').update(await realpath(dataDir)).digest('hex').slice(0, 16);
    pgDir = path.join(SHARED_ROOT, `data-${id}`, 'pg');
    await mkdir(path.dirname(pgDir), { recursive: true, mode: 0o755 });
    await writeFile(pointer, `${JSON.stringify({ pgDir }, null, 2)}\n`);
    logger.info({ dataDir, pgDir }, 'the "postgres" user cannot enter the data folder: the embedded PostgreSQL keeps its data here instead');
  }
  return { pgDir, binDir };
}

const exec = promisify(execFile);

/** The uid and gid of the "postgres" user, created when missing (PostgreSQL refuses to run as root). */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const ids = async () => ({ uid: Number((await exec('id', ['-u', 'postgres'])).stdout), gid: Number((await exec('id', ['-g', 'postgres'])).stdout) });
  try {
    return await ids();
  } catch {
    await exec('groupadd', ['-f', 'postgres']).catch(() => undefined);
    await exec('useradd', ['-g', 'postgres', '-M', '-r', 'postgres']);
    return ids();
  }
}

/** Runs a PostgreSQL program to completion (initdb), failing with what it printed. */
function run(file: string, args: string[], as: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...as, stdio: ['ignore', 'pipe', 'pipe'], env: { LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(file)} failed (exit ${code}): ${output.trim().slice(-500)}`))));
  });
}

/** Starts `postgres` and resolves once it accepts connections. */
function startServer(binDir: string, pgDir: string, port: number, as: { uid?: number; gid?: number }, logger: Logger): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(binDir, 'postgres'), ['-D', pgDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${tmpdir()}`], {
      ...as,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { LC_ALL: 'C' },
    });
    let output = '';
    const onOutput = (c: Buffer) => {
      const text = c.toString();
      output += text;
      logger.debug({ postgres: text.trim() });
      if (text.includes('database system is ready to accept connections')) resolve(child);
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the embedded PostgreSQL exited (code ${code}): ${output.trim().slice(-500)}`)));
  });
}

/**
 * The embedded default: a real PostgreSQL from the `embedded-postgres` package, with its data
 * under `<dataDir>/pg` (or where the pointer file there says). A second process (the CLI beside a
 * running server) finds the running one by its postmaster.pid and attaches to it, whatever port
 * it was started on.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, logger: Logger): Promise<EmbeddedPostgres> {
  await mkdir(dataDir, { recursive: true });
  const asRoot = userInfo().uid === 0;
  const { pgDir, binDir } = await locate(dataDir, asRoot, logger);
  const running = await runningPort(pgDir);
  if (running !== null && (await answers(running))) {
    logger.info({ dir: pgDir, port: running }, 'using the embedded PostgreSQL that is already running');
    return { url: urlFor(running), stop: async () => undefined };
  }
  const as: { uid?: number; gid?: number } = asRoot ? await postgresUser() : {};
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    logger.info({ dir: pgDir }, 'initialising the embedded PostgreSQL data folder');
    await mkdir(pgDir, { recursive: true, mode: 0o700 });
    if (asRoot) await chown(pgDir, as.uid!, as.gid!);
    const passwordFile = path.join(tmpdir(), `billing-pg-${randomBytes(6).toString('hex')}`);
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
    try {
      await run(path.join(binDir, 'initdb'), [`--pgdata=${pgDir}`, '--auth=password', '--username=postgres', `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C'], as);
    } finally {
      await rm(passwordFile, { force: true });
    }
  }
  const child = await startServer(binDir, pgDir, port, as, logger);
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await admin.query(`create database ${DATABASE}`);
  } finally {
    await admin.end();
  }
  logger.info({ dir: pgDir, port }, 'embedded PostgreSQL started');
  return {
    url: urlFor(port),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT'); // fast shutdown: disconnect clients, checkpoint, exit
      await exited;
    },
  };
}
