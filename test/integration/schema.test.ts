import { readFile } from 'node:fs/promises';
import { isEnumType, isInputObjectType, isObjectType, type GraphQLObjectType } from 'graphql';
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

  it('names types for the API, not after their classes: no object, input or enum type name ends in "Object"', async () => {
    const schema = await buildAppSchema(new Map());
    const objects = Object.values(schema.getTypeMap()).filter((type) => isObjectType(type) || isInputObjectType(type) || isEnumType(type));
    expect(objects.map((type) => type.name).filter((name) => name.endsWith('Object'))).toEqual([]);
  });

  it('counts events as integers, never as strings', async () => {
    const schema = await buildAppSchema(new Map());
    for (const type of ['UsageSums', 'UsageGroup', 'PeriodSpend', 'ModelSpend']) {
      const fields = (schema.getType(type) as GraphQLObjectType).getFields();
      expect(String(fields.events!.type), type).toBe('SafeInt!');
    }
  });
});
