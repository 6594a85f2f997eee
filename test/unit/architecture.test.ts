import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * The shape of the code (CONTRIBUTING.md, "Shape of the code" and "Reaching the database"),
 * checked by reading the sources: their imports, decorators and calls. Paths are relative to
 * src/ and use forward slashes. Tests may reach inside modules to test their parts; these rules
 * are about src/ only.
 */

const root = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
}

const posix = (p: string) => p.split(path.sep).join('/');
const files = sources('.').map(posix).sort();
const textCache = new Map<string, string>();
const textOf = (file: string) => textCache.get(file) ?? textCache.set(file, readFileSync(path.join(root, file), 'utf8')).get(file)!;

interface Import {
  file: string;
  /** The specifier as written. */
  spec: string;
  /** For a relative specifier, the file it names (src-relative, `.ts`); null for packages. */
  target: string | null;
  /** `import type`, `export type`, or braces of `type` names only: gone once compiled. */
  typeOnly: boolean;
}

const STATEMENT = /(?:^|\n)[ \t]*(import|export)(\s+type)?\s+([^'";]*?)\s*from\s*['"]([^'"]+)['"]|(?:^|\n)[ \t]*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function parsedImports(file: string): Import[] {
  const out: Import[] = [];
  for (const m of textOf(file).matchAll(STATEMENT)) {
    const spec = (m[4] ?? m[5] ?? m[6])!;
    const clause = (m[3] ?? '').trim();
    const braces = /^\{([^}]*)\}$/.exec(clause);
    const typeOnly = !!m[2] || (!!braces && braces[1]!.split(',').filter((s) => s.trim()).every((s) => /^\s*type\s/.test(s)));
    const target = spec.startsWith('.') ? posix(path.normalize(path.join(path.dirname(file), spec))).replace(/\.js$/, '.ts') : null;
    out.push({ file, spec, target, typeOnly });
  }
  return out;
}
const imports = files.flatMap(parsedImports);
/** Imports that load code when the importer runs (type-only ones are erased by the compiler). */
const runtimeImports = imports.filter((i) => !i.typeOnly);

/** The module a file belongs to (src/modules/<module>/...), or null. */
const moduleOf = (file: string): string | null => /^modules\/([^/]+)\//.exec(file)?.[1] ?? null;
const modules = readdirSync(path.join(root, 'modules'), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

/** The composition root and the command line build services and open connections; nothing else does. */
const isComposition = (file: string) => file.startsWith('app/') || file.startsWith('cli/');

/** Each file of a module says its role in its name: <thing>.<role>.ts. */
const ROLES = {
  service: 'domain logic: validates, decides, calls repositories; what resolvers, routes and other modules call',
  repository: 'the only code that runs SQL or uses the ORM',
  entity: 'a MikroORM entity schema (EntitySchema), registered in src/db/entities.ts',
  record: 'types and constants of what a SQL repository reads and writes; no I/O',
  resolver: 'GraphQL resolver: parse, call one service method, map',
  object: 'GraphQL object types and their toXObject mappers',
  inputs: 'GraphQL input types and mutation payloads',
  routes: 'HTTP routes besides GraphQL',
  pure: 'computation on its arguments alone: no I/O, no clock, no state',
  worker: 'work on its own schedule: timers, queues, batches',
  store: 'the reservation store: balances and holds, in Redis or in memory',
  bus: 'live messages between instances: Redis pub/sub, or in memory',
  cache: 'an in-process cache in front of a service or repository',
  client: 'calls out to systems outside ours (webhook receivers: DNS, HTTP)',
  files: 'reads files from disk (rule sets and their examples)',
} as const;
const ROLE_FILE = new RegExp(`^[a-z0-9]+(?:-[a-z0-9]+)*\\.(${Object.keys(ROLES).join('|')})\\.ts$`);
const roleOf = (file: string): string | null => /\.([a-z]+)\.ts$/.exec(file)?.[1] ?? null;
const isPureCode = (file: string) => file.endsWith('.pure.ts') || file.endsWith('.record.ts');

describe('architecture', () => {
  it('keeps the rating core free of I/O: it imports only itself, money, and pure libraries', () => {
    const allowedPackages = new Set(['json-rules-engine', 'ajv', 'jsonc-parser', 'decimal.js', 'node:crypto']);
    const offending: string[] = [];
    for (const file of sources('rating')) {
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.')) {
          const target = path.normalize(path.join(path.dirname(file), spec));
          const ok = target.startsWith('rating/') || target.startsWith('shared/money/') || target === path.normalize('../rules/rule-set.schema.json');
          if (!ok) offending.push(`${file} -> ${spec}`);
        } else if (!allowedPackages.has(spec)) {
          offending.push(`${file} -> ${spec}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it('keeps the invoice calculation pure: the close and preview read data, then these files compute with no I/O', () => {
    const pure = ['base-fees.pure.ts', 'billing-timeline.pure.ts', 'invoice-compose.pure.ts', 'usage-items.pure.ts', 'usage-item-parts.pure.ts', 'true-ups.pure.ts', 'prepaid-items.pure.ts', 'invoice.record.ts'].map((f) => path.join('modules/invoices', f));
    const allowed = (target: string) =>
      target.startsWith('rating/') || target.startsWith('shared/money/') || target === path.normalize('shared/time-zones.js') || target === path.normalize('modules/subscriptions/billing-period.pure.js') || pure.includes(target.replace(/\.js$/, '.ts'));
    const offending: string[] = [];
    for (const file of pure) {
      const text = readFileSync(path.join(root, file), 'utf8');
      // Type-only imports vanish at compile time; only value imports can bring I/O in.
      for (const m of text.matchAll(/^import (?!type )[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        const target = spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)) : spec;
        if (!spec.startsWith('.') || !allowed(target)) offending.push(`${file} -> ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('reads the environment only in the configuration module', () => {
    const readers = sources('.').filter((f) => /process\.env/.test(readFileSync(path.join(root, f), 'utf8')));
    expect(readers).toEqual([path.normalize('config/config.ts')]);
  });
});

describe('architecture: who owns each external system', () => {
  /**
   * Every file that may talk to Redis, and what for. Anything else holding a client (the
   * composition root creates the one client and hands it out) may only connect, watch and
   * close it.
   */
  const REDIS_OWNERS: Record<string, string> = {
    'modules/reservations/redis.store.ts': 'balances: the reservation store and its Lua scripts',
    'modules/live/redis.bus.ts': 'pub/sub: live messages between instances',
    // A named allowance: rate limits hold no money and publish nothing; their counters live in
    // Redis only so that every instance draws on one budget per credential.
    'graphql/rate-limits.ts': 'per-credential rate-limit counters shared by every instance (rate-limiter-flexible)',
  };
  const PUB_SUB = new Set(['publish', 'subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'spublish', 'ssubscribe', 'sunsubscribe', 'duplicate']);
  /** The Redis commands a file sends: calls on its client (`redis`, `this.redis`) or its subscriber connection (`sub`). */
  const commandsIn = (file: string, clients = /\b(?:this\.redis|redis|sub)\??\.(\w+)\(/g) => [...textOf(file).matchAll(clients)].map((m) => m[1]!);
  /** Not commands: a connection's lifecycle, and the promise of a connection being opened. */
  const LIFECYCLE = ['connect', 'disconnect', 'quit', 'on', 'then', 'catch'];

  it('reaches Redis only from the reservation store (balances), the live bus (pub/sub) and the rate limits', () => {
    const users = [...new Set(imports.filter((i) => i.spec === 'ioredis' || i.spec === 'rate-limiter-flexible').map((i) => i.file))].sort();
    expect(users).toEqual(Object.keys(REDIS_OWNERS).sort());
    const elsewhere = files
      .filter((f) => !(f in REDIS_OWNERS))
      .flatMap((f) => commandsIn(f, /\bredis\??\.(\w+)\(/g).filter((c) => !LIFECYCLE.includes(c)).map((c) => `${f}: redis.${c}()`));
    expect(elsewhere).toEqual([]);
    const clientMakers = files.filter((f) => /\bcreateRedisClient\(/.test(textOf(f)) && !isComposition(f) && moduleOf(f) !== 'reservations');
    expect(clientMakers).toEqual([]);
  });

  it('keeps balances and pub/sub apart: the store never publishes, the bus runs no scripts and keeps no keys', () => {
    const storePubSub = commandsIn('modules/reservations/redis.store.ts').filter((c) => PUB_SUB.has(c));
    expect(storePubSub).toEqual([]);
    const busOther = commandsIn('modules/live/redis.bus.ts').filter((c) => !PUB_SUB.has(c) && !LIFECYCLE.includes(c));
    expect(busOther).toEqual([]);
  });

  it('runs SQL and uses the ORM only in repositories (and in src/db, which provides them)', () => {
    const SQL_OR_ORM = /\.(?:query|execute)\s*[<(]|\bgetConnection\(|\.em\b|\bEntityManager\b|\bnative(?:Insert|Update|Delete)\(|\bpersistAndFlush\(|\bcreateQueryBuilder\(/;
    const outside = files.filter((f) => !f.startsWith('db/') && !f.endsWith('.repository.ts') && SQL_OR_ORM.test(textOf(f)));
    expect(outside).toEqual([]);
    const ormImports = imports.filter((i) => i.spec.startsWith('@mikro-orm/') && !i.file.startsWith('db/') && !/\.(entity|repository)\.ts$/.test(i.file)).map((i) => `${i.file} -> ${i.spec}`);
    expect(ormImports).toEqual([]);
  });

  it('opens database pools and the ORM only in the composition root and the command line', () => {
    const openers = files.filter((f) => !f.startsWith('db/') && !isComposition(f) && /\bnew SqlPool\(|\bopenSqlPools\(|\bopenOrm\(/.test(textOf(f)));
    expect(openers).toEqual([]);
  });

  it('reaches PostgreSQL one way per module: MikroORM entities for configuration, SQL repositories for the rest', () => {
    /** A module on both paths, and why. */
    const BOTH: Record<string, string> = {
      wallets: 'wallet settings are configuration (ORM); the ledger is appended in SQL, inside the money transactions',
    };
    const registered = parsedImports('db/entities.ts').map((i) => i.target!);
    const entityFiles = files.filter((f) => f.endsWith('.entity.ts'));
    // `.entity.ts` means one thing: a MikroORM schema the ORM maps.
    expect(entityFiles.filter((f) => !/\bnew EntitySchema\b/.test(textOf(f)))).toEqual([]);
    expect(entityFiles).toEqual([...registered].sort());
    const paths = modules.map((m) => {
      const repos = files.filter((f) => moduleOf(f) === m && f.endsWith('.repository.ts'));
      const orm = repos.some((f) => /\b(?:EntityManager|Orm)\b/.test(textOf(f)));
      const sql = repos.some((f) => /\bSql(?:Pool|Client)\b/.test(textOf(f)));
      return { m, way: orm && sql ? 'both' : orm ? 'orm' : sql ? 'sql' : 'none' };
    });
    const ormModules = [...new Set(entityFiles.map((f) => moduleOf(f)!))].sort();
    expect(paths.filter((p) => p.way === 'orm' || p.way === 'both').map((p) => p.m)).toEqual(ormModules);
    expect(paths.filter((p) => p.way === 'both').map((p) => p.m)).toEqual(Object.keys(BOTH));
    expect(paths.filter((p) => p.way === 'none').map((p) => p.m)).toEqual([]);
  });
});

describe('architecture: modules and their public surface', () => {
  /** Imports allowed to reach inside another module, and why. */
  const deepAllowed = (i: Import): boolean =>
    // The ORM's registry lists entity schemas; loading whole modules (GraphQL, services) to map tables would be wasteful.
    (i.file === 'db/entities.ts' && i.target!.endsWith('.entity.ts')) ||
    // Pure code shares pure code: it has no state or I/O to hide, and an index would load the module's I/O into it.
    (isPureCode(i.file) && isPureCode(i.target!));

  it("reaches another module only through its index.ts, the module's public surface", () => {
    const deep = imports
      .filter((i) => i.target && moduleOf(i.target) && moduleOf(i.target) !== moduleOf(i.file))
      .filter((i) => !i.target!.endsWith('/index.ts') && !deepAllowed(i))
      .map((i) => `${i.file} -> ${i.spec}`);
    expect(deep).toEqual([]);
  });

  it('keeps index.ts a list of exports of its own files, which the module itself never imports', () => {
    const problems: string[] = [];
    for (const m of modules) {
      const index = `modules/${m}/index.ts`;
      const code = textOf(index)
        .replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
        .replace(/export\s+(?:type\s+)?\{[^}]*\}\s*from\s*'\.\/[^']+';/g, '')
        .trim();
      if (code) problems.push(`${index}: more than re-exports of its own files: ${code.slice(0, 80)}`);
      for (const i of imports.filter((x) => x.target === index && moduleOf(x.file) === m)) problems.push(`${i.file} imports its own module's index.ts`);
    }
    expect(problems).toEqual([]);
  });

  it('has no import cycle between modules at run time (type-only imports are erased and may go both ways)', () => {
    const edges = new Map(modules.map((m) => [m, new Set<string>()]));
    for (const i of runtimeImports) {
      const from = moduleOf(i.file);
      const to = i.target && moduleOf(i.target);
      if (from && to && from !== to) edges.get(from)!.add(to);
    }
    expect(cycles(edges)).toEqual([]);
  });

  it('has no import cycle between files at run time anywhere in src', () => {
    const edges = new Map(files.map((f) => [f, new Set<string>()]));
    for (const i of runtimeImports) if (i.target && edges.has(i.target)) edges.get(i.file)!.add(i.target);
    expect(cycles(edges)).toEqual([]);
  });
});

describe('architecture: the same file set in every module', () => {
  /** A module without a service, and why. */
  const NO_SERVICE: Record<string, string> = {
    idempotency: 'a mechanism other modules run inside their own transactions; it has no logic of its own',
  };

  it('names every file of a module <thing>.<role>.ts with a known role (or index.ts)', () => {
    const problems: string[] = [];
    for (const m of modules) {
      for (const e of readdirSync(path.join(root, 'modules', m), { withFileTypes: true })) {
        // The reservation store's Lua scripts sit beside the store that runs them.
        if (e.isDirectory()) {
          if (!(m === 'reservations' && e.name === 'lua')) problems.push(`modules/${m}/${e.name}/: modules have no subfolders`);
          continue;
        }
        if (e.name !== 'index.ts' && !ROLE_FILE.test(e.name)) problems.push(`modules/${m}/${e.name}: no known role (${Object.keys(ROLES).join(', ')})`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('gives every module an index.ts, a repository and a service; an API module a resolver and its object types', () => {
    const problems: string[] = [];
    for (const m of modules) {
      const own = files.filter((f) => moduleOf(f) === m);
      const has = (role: string) => own.some((f) => roleOf(f) === role);
      if (!own.includes(`modules/${m}/index.ts`)) problems.push(`${m}: no index.ts`);
      if (!has('repository')) problems.push(`${m}: no repository`);
      if (!has('service') && !(m in NO_SERVICE)) problems.push(`${m}: no service`);
      if (has('resolver') !== has('object')) problems.push(`${m}: a resolver and object types go together`);
      if (has('inputs') && !has('resolver')) problems.push(`${m}: inputs without a resolver`);
    }
    expect(problems).toEqual([]);
  });

  it('puts each kind of declaration in the file of its role', () => {
    const placed: Array<[RegExp, string[]]> = [
      [/@Resolver\(/, ['resolver']],
      [/@(?:InputType|ArgsType)\(/, ['inputs']],
      [/@ObjectType\(/, ['object', 'inputs']],
      [/\bnew EntitySchema\b/, ['entity']],
    ];
    const misplaced = files
      .filter((f) => moduleOf(f))
      .flatMap((f) => placed.filter(([pattern, roles]) => pattern.test(textOf(f)) && !roles.includes(roleOf(f) ?? '')).map(([pattern]) => `${f}: ${pattern.source}`));
    expect(misplaced).toEqual([]);
  });

  it('keeps pure files and records pure: at run time they import only other pure code', () => {
    // standardwebhooks: the Standard Webhooks signature, computed on its arguments alone.
    const allowedPackages = new Set(['decimal.js', 'node:crypto', 'standardwebhooks']);
    const allowed = (target: string) =>
      target.startsWith('rating/') ||
      target.startsWith('shared/money/') ||
      ['shared/time-zones.ts', 'shared/errors.ts', 'shared/validation.ts'].includes(target) ||
      isPureCode(target);
    const offending = runtimeImports
      .filter((i) => isPureCode(i.file))
      .filter((i) => (i.target ? !allowed(i.target) : !allowedPackages.has(i.spec)))
      .map((i) => `${i.file} -> ${i.spec}`);
    expect(offending).toEqual([]);
  });
});

/** The cycles of a directed graph (Tarjan's strongly connected components), each as "a -> b -> a". */
function cycles(edges: Map<string, Set<string>>): string[] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(pathThrough(component.sort(), edges));
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The shortest cycle through a strongly connected component's first member, for the message. */
function pathThrough(component: string[], edges: Map<string, Set<string>>): string {
  const members = new Set(component);
  const start = component[0]!;
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const w of edges.get(at) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let v: string | undefined = at; v !== undefined && v !== start; v = parent.get(v)) path.splice(1, 0, v);
        return [...path, start].join(' -> ');
      }
      if (!parent.has(w)) {
        parent.set(w, at);
        queue.push(w);
      }
    }
  }
  return component.join(', ');
}
