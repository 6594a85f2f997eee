import type { SqlPool } from '../../db/sql.js';
import type { PublishedRuleSet } from './rule-set.record.js';

interface Row {
  key: string;
  version: number;
  hash: string;
  effective_from: Date;
  currency: string;
  content: unknown;
  source_file: string | null;
  published_at: Date;
}

const toPublished = (r: Row): PublishedRuleSet => ({
  key: r.key,
  version: r.version,
  hash: r.hash,
  effectiveFrom: r.effective_from,
  currency: r.currency,
  content: r.content,
  sourceFile: r.source_file,
  publishedAt: r.published_at,
});

export class RuleSetRepository {
  constructor(private readonly sql: SqlPool) {}

  async all(): Promise<PublishedRuleSet[]> {
    return (await this.sql.query<Row>('select * from rule_set_version order by key, version')).map(toPublished);
  }

  /** Publishes a version unless that number exists; returns what is stored under it either way. */
  async publish(v: Omit<PublishedRuleSet, 'publishedAt'>, now: Date): Promise<PublishedRuleSet> {
    const rows = await this.sql.query<Row>(
      `with ins as (
         insert into rule_set_version (key, version, hash, effective_from, currency, content, source_file, published_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing returning *)
       select * from ins union all select * from rule_set_version where key = $1 and version = $2`,
      [v.key, v.version, v.hash, v.effectiveFrom, v.currency, JSON.stringify(v.content), v.sourceFile, now],
    );
    return toPublished(rows[0]!);
  }
}
