import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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
    const pure = ['base-fees.ts', 'billing-timeline.ts', 'invoice-compose.ts', 'usage-items.ts', 'usage-item-parts.ts', 'true-ups.ts', 'prepaid-items.ts', 'invoice.record.ts'].map((f) => path.join('modules/invoices', f));
    const allowed = (target: string) =>
      target.startsWith('rating/') || target.startsWith('shared/money/') || target === path.normalize('shared/time-zones.js') || target === path.normalize('modules/subscriptions/billing-period.js') || pure.includes(target.replace(/\.js$/, '.ts'));
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
