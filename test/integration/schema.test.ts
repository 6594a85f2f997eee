import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildAppSchema, printAppSchema } from '../../src/graphql/schema.js';

describe('schema.graphql', () => {
  it('matches the schema emitted from the code (run npm run schema:emit after changing the API)', async () => {
    const committed = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(printAppSchema(await buildAppSchema(new Map()))).toBe(committed);
  });

  it('has no Float anywhere: money and quantities are Decimal strings', async () => {
    const committed = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).not.toMatch(/\bFloat\b/);
  });
});
