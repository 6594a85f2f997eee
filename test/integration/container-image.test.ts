import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { freePort } from '../support/process.js';
import { deleteRedisKeys } from '../support/test-app.js';

/*
 * The image, without a container engine: the Dockerfile's runtime stage is read (its files, its
 * environment, its user, its entry command and its health check), its file tree is put together
 * from this checkout's build, and the entry command is run there as the image's user. The
 * service must start, pass its own health check, and drain and exit 0 on SIGTERM sent to the
 * entry process itself (in a container it is PID 1). compose.yaml is checked against the service's
 * settings and its commands.
 */
const repo = fileURLToPath(new URL('../../', import.meta.url));

interface RuntimeStage {
  env: Record<string, string>;
  workdir: string;
  user: string;
  copies: Array<{ from: string; to: string }>;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
}

/** The last stage of the Dockerfile, as the engine would read its instructions. */
function runtimeStage(): RuntimeStage {
  const lines = readFileSync(path.join(repo, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stage = lines.slice(lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true));
  const json = (text: string): string[] => {
    const value = JSON.parse(text) as unknown;
    if (!Array.isArray(value)) throw new Error(`not exec form: ${text}`);
    return value as string[];
  };
  const out: RuntimeStage = { env: {}, workdir: '/', user: 'root', copies: [], entrypoint: [], cmd: [], healthcheck: [] };
  for (const line of stage) {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line)!;
    switch (op!.toUpperCase()) {
      case 'ENV':
        for (const m of rest!.matchAll(/(\w+)=(\S+)/g)) out.env[m[1]!] = m[2]!;
        break;
      case 'WORKDIR':
        out.workdir = rest!;
        break;
      case 'USER':
        out.user = rest!;
        break;
      case 'COPY': {
        const m = /^--from=build\s+(\S+)\s+(\S+)$/.exec(rest!);
        if (m) out.copies.push({ from: m[1]!, to: m[2]! });
        break;
      }
      case 'ENTRYPOINT':
        out.entrypoint = json(rest!);
        break;
      case 'CMD':
        out.cmd = json(rest!);
        break;
      case 'HEALTHCHECK':
        out.healthcheck = json(rest!.replace(/^(--\S+\s+)*CMD\s+/, ''));
        break;
    }
  }
  return out;
}

/** Whether a user other than the owner may reach this path (every folder above it searchable). */
function reachableByOthers(file: string): boolean {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

describe('the container image (Dockerfile, compose.yaml)', () => {
  const stage = runtimeStage();
  const isRoot = process.getuid?.() === 0;
  let root: string;
  let db: TestDatabase;
  const prefix = `test:image:${process.pid}:`;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The runtime stage's tree, built from the build stage's paths (/app/<file> is this checkout).
    root = mkdtempSync(path.join(tmpdir(), 'billing-image-'));
    chmodSync(root, 0o755);
    for (const { from, to } of stage.copies) {
      const source = path.join(repo, path.relative('/app', from));
      const target = path.join(root, to);
      // node_modules is large: linked when the image's user can reach this checkout, else copied.
      if (path.basename(source) === 'node_modules' && reachableByOthers(source)) symlinkSync(source, target);
      else cpSync(source, target, { recursive: true });
    }
  }, 120_000);

  afterAll(async () => {
    rmSync(root, { recursive: true, force: true });
    await db.drop();
    await deleteRedisKeys(prefix);
  });

  it('runs an unprivileged user, with the server itself as the entry process (exec form, no shell or npm)', () => {
    const [uid, gid] = stage.user.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    expect(stage.entrypoint[0]).toBe('node');
    expect(stage.entrypoint.join(' ')).not.toMatch(/\b(npm|sh|bash)\b/);
    expect([...stage.entrypoint, ...stage.cmd].slice(1)).toEqual(['bin/billing.js', 'serve']);
    expect(stage.workdir).toBe('/app');
    expect(stage.healthcheck[0]).toBe('node');
  });

  it('starts from the entry command as that user, passes its health check, and drains and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const [uid, gid] = stage.user.split(':').map(Number) as [number, number];
    // The image's paths under /app are the temporary tree's here.
    const local = (value: string) => (value === stage.workdir || value.startsWith(`${stage.workdir}/`) ? path.join(root, path.relative(stage.workdir, value)) : value);
    const env = {
      PATH: process.env.PATH ?? '',
      ...Object.fromEntries(Object.entries(stage.env).map(([k, v]) => [k, local(v)])),
      PORT: String(port),
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      // Required in production (the image's NODE_ENV), as it is of every deployment.
      LINK_SIGNING_SECRET: 'container-image-test-link-signing-secret',
      // The service writes nothing under /app; its data folder (unused with an external
      // database) is the stage's, under the temporary tree here.
      DATA_DIR: path.join(root, 'data'),
    };
    const identity = isRoot ? { uid, gid } : {};
    // In the image `node` is on PATH; here it is this test's own node.
    const exec = (argv: string[]) => [process.execPath, ...argv.slice(1)] as const;
    const [command, ...args] = exec([...stage.entrypoint, ...stage.cmd]);
    const child = spawn(command, args, { cwd: root, env, ...identity });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; !/billing service listening/.test(output); i++) {
        if (i > 600 || child.exitCode !== null) throw new Error(`the service did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      if (isRoot) {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s`, 'm'));
      }
      const check = () => {
        const [hc, ...hcArgs] = exec(stage.healthcheck);
        return spawnSync(hc, hcArgs, { cwd: root, env, ...identity, encoding: 'utf8', timeout: 10_000 }).status;
      };
      for (let i = 0; check() !== 0; i++) {
        if (i > 50) throw new Error(`the health check never passed:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(child.kill('SIGTERM')).toBe(true);
      expect(await exited).toBe(0);
      expect(output).toMatch(/draining and shutting down/);
      // With nothing listening, the same check fails.
      expect(check()).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);

  it('compose.yaml: every setting it passes is one the service reads, every command one it has, and stops wait for a drain', () => {
    const compose = parseYaml(readFileSync(path.join(repo, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string>; stop_grace_period?: string }>;
    };
    const help = spawnSync(process.execPath, [path.join(repo, 'bin/billing.js'), 'serve', '--help'], { encoding: 'utf8' }).stdout;
    const commands = spawnSync(process.execPath, [path.join(repo, 'bin/billing.js'), '--help'], { encoding: 'utf8' }).stdout;
    const ours = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
    expect(ours.map(([name]) => name).sort()).toEqual(['api', 'api-2', 'migrate']);
    for (const [name, service] of ours) {
      for (const key of Object.keys(service.environment ?? {})) expect(help, `${name}: ${key}`).toContain(key);
      const command = service.command?.[0] ?? 'serve';
      expect(commands, `${name}: ${command}`).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
      if (command === 'serve') {
        expect(service.environment?.MIGRATE_ON_START, name).toBe('false');
        expect(Number.parseInt(service.stop_grace_period ?? '10s', 10) * 1000).toBeGreaterThan(10_000);
      }
    }
  });
});
