// Builds only when a source is newer than the last build (`npm start`, `npm run demo`). The
// build's progress goes to stderr, so that stdout carries the server's JSON log lines only.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = path.join(root, 'dist', '.build-stamp');
const inputs = ['src', 'migrations', 'client', 'bench', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'codegen.yml', 'schema.graphql'];

/** The newest modification time under a file or folder (generated code excluded). */
function newest(file) {
  let info;
  try {
    info = statSync(file);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(file)) if (entry !== 'generated') latest = Math.max(latest, newest(path.join(file, entry)));
  return latest;
}

function builtAt() {
  try {
    return statSync(stamp).mtimeMs;
  } catch {
    return 0;
  }
}

/** Runs `npm run build` when dist/ is missing or older than a source; exits 1 when it fails. */
export function buildIfStale() {
  const built = builtAt();
  if (built !== 0 && !inputs.some((input) => newest(path.join(root, input)) > built)) return;
  process.stderr.write('building (sources changed since the last build)\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', process.stderr, process.stderr] });
  if (result.status !== 0) {
    process.stderr.write('the build failed; see above\n');
    process.exit(1);
  }
}
