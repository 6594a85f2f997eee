#!/usr/bin/env node
// The container's health check: exits 0 when the service in this container answers /readyz with
// 200 (database and store reachable, rule sets served), 1 otherwise. It asks the loopback address
// on PORT, whatever HOST the server listens on.
const port = Number(process.env.PORT ?? 4000);
try {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2500) });
  if (res.status !== 200) {
    process.stderr.write(`not ready: /readyz answered ${res.status} ${await res.text()}\n`);
    process.exit(1);
  }
} catch (err) {
  process.stderr.write(`not ready: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
