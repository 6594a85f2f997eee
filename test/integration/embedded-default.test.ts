import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort, startServerProcess } from '../support/process.js';

describe('the embedded default (no DATABASE_URL, no REDIS_URL)', () => {
  it('starts its own PostgreSQL, prints an admin key and a curl that works as printed', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'billing-embedded-'));
    const server = startServerProcess({ DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()) });
    try {
      await server.waitFor(/billing service listening/, 90_000);
      expect(server.output()).toMatch(/in-process reservation store; run a single instance only/);
      const [curl] = await server.waitFor(/^curl .*$/m);
      const { stdout } = await promisify(execFile)('sh', ['-c', curl]);
      expect(JSON.parse(stdout)).toEqual({ data: { apiKeys: { nodes: [expect.objectContaining({ name: 'bootstrap admin', role: 'ADMIN' })] } } });
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
