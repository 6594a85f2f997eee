import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { freshSchemaDump, lineDiff, normaliseDump } from '../../src/db/schema-dump.js';
import { TEST_DATABASE_URL } from '../support/env.js';

/** schema.sql, like schema.graphql, is committed and must equal what the code makes. */
describe('schema.sql', () => {
  it('is the schema of a fresh migrate (npm run schema:sql writes it)', async () => {
    const committed = await readFile(new URL('../../schema.sql', import.meta.url), 'utf8').catch(() => '');
    const dump = await freshSchemaDump(TEST_DATABASE_URL);
    if (dump !== committed) {
      const server = new URL(TEST_DATABASE_URL);
      server.password = '';
      expect.fail(
        'schema.sql differs from the schema of a fresh migrate (- schema.sql, + the migrated database).\n' +
          `Regenerate it with DATABASE_URL=${server} npm run schema:sql and commit it.\n${lineDiff(committed, dump)}`,
      );
    }
    // The triggers and functions are there, in the dump's own words.
    expect(committed).toContain('CREATE TRIGGER usage_event_spending_cap AFTER INSERT ON public.usage_event');
    expect(committed).toContain('CREATE FUNCTION public.usage_commit(p_events jsonb, p_batch uuid, p_at timestamp with time zone)');
  });

  it('leaves out what varies between runs and machines', () => {
    const raw = [
      '--', '-- PostgreSQL database dump', '--', '', '\\restrict abc123', '',
      '-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)', '-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)', '',
      'SET statement_timeout = 0;', "SELECT pg_catalog.set_config('search_path', '', false);", 'SET default_table_access_method = heap;', '',
      '--', '-- Name: t; Type: TABLE; Schema: public; Owner: -', '--', '', 'CREATE TABLE public.t (', '    id integer', ');', '', '',
      '--', '-- PostgreSQL database dump complete', '--', '', '\\unrestrict abc123', '',
    ].join('\n');
    const text = normaliseDump(raw, 15);
    expect(text.split('\n').slice(3)).toEqual([
      '', '--', '-- Name: t; Type: TABLE; Schema: public; Owner: -', '--', '', 'CREATE TABLE public.t (', '    id integer', ');', '',
    ]);
    expect(text.split('\n')[0]).toMatch(/^-- The database schema after a fresh migrate: pg_dump 15 /);
  });

  it('shows a drift as numbered hunks of removed and added lines', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n');
    const after = ['a', 'b', 'c', 'D', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n');
    expect(lineDiff(before, after)).toBe(['@@ line 2 @@', '  b', '  c', '- d', '+ D', '  e', '  f', '@@ line 9 @@', '  i', '  j', '+ k'].join('\n'));
    expect(lineDiff(before, before)).toBe('');
  });
});
