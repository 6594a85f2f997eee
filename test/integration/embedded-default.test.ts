import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort, runBilling, startServerProcess } from '../support/process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the embedded default (no DATABASE_URL, no REDIS_URL)', () => {
  it('starts its own PostgreSQL in a folder only its owner may enter, prints an admin key and a curl that works as printed; the CLI finds it; a second server is refused', { timeout: 180_000 }, async () => {
    // A private folder, as a clone in a home folder of mode 700 is: as root, PostgreSQL's own
    // "postgres" user cannot enter it.
    const home = await mkdtemp(path.join(tmpdir(), 'billing-home-'));
    await chmod(home, 0o700);
    const dataDir = path.join(home, 'project', '.data');
    const pgPort = String(await freePort());
    const server = startServerProcess({ DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_PG_PORT: pgPort });
    let relocated: string | undefined;
    try {
      await server.waitFor(/billing service listening/, 120_000);
      expect(server.output()).toMatch(/in-process reservation store; run a single instance only/);
      if (userInfo().uid === 0) {
        const pointer = JSON.parse(await readFile(path.join(dataDir, 'embedded-postgres.json'), 'utf8')) as { pgDir: string };
        expect(pointer.pgDir).toMatch(/^\/var\/lib\/billing\/data-[0-9a-f]{16}\/pg$/);
        relocated = path.dirname(pointer.pgDir);
      }
      const [curl] = await server.waitFor(/^curl .*$/m);
      const { stdout } = await promisify(execFile)('sh', ['-c', curl]);
      expect(JSON.parse(stdout)).toEqual({ data: { apiKeys: { nodes: [expect.objectContaining({ name: 'bootstrap admin', role: 'ADMIN' })] } } });

      // The CLI finds the running database by itself: no EMBEDDED_PG_PORT given.
      const key = await runBilling(['keys', 'create', '--role', 'ADMIN', '--name', 'from the cli'], { DATA_DIR: dataDir });
      expect(key.stderr).toBe('');
      expect(key.code).toBe(0);
      expect(key.stdout.trim().split('\n').at(-1)).toMatch(/^bk_/);

      // A second server on the same database may not keep a second in-process store.
      const second = startServerProcess({ DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_PG_PORT: pgPort });
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(/another billing server already uses the billing in-process reservation store of this database/);

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
      await rm(home, { recursive: true, force: true });
      if (relocated) await rm(relocated, { recursive: true, force: true });
    }
  });
});

describe('npm start', () => {
  it('does not rebuild a current build, keeps stdout to JSON lines, and stops the server on SIGTERM', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'billing-start-'));
    const port = await freePort();
    const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(await freePort()) } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 600 && !/billing service listening/.test(stdout); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stdout).toMatch(/billing service listening/);
      expect(stderr).not.toMatch(/building/);
      for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) expect(() => JSON.parse(line)).not.toThrow();
      child.kill('SIGTERM'); // to npm itself: the signal must reach the server
      expect(await exited).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
