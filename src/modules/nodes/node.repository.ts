import type { SqlPool } from '../../db/sql.js';

/** A table that holds one node type, and the name of that type. */
export interface NodeTable {
  typename: string;
  table: string;
}

/**
 * Finds which table holds an id. Ids are UUIDv7, unique across tables, so at most one probe
 * matches; each probe is a primary-key lookup (on a partitioned table, one per partition).
 * Table names come from the node registry, which admits plain lower-case names only.
 */
export class NodeRepository {
  constructor(private readonly sql: SqlPool) {}

  async typenameOf(id: string, tables: readonly NodeTable[]): Promise<string | null> {
    if (tables.length === 0) return null;
    const probes = tables.map((t, i) => `select $${i + 2}::text as typename from "${t.table}" where id = $1::uuid`);
    const rows = await this.sql.query<{ typename: string }>(`${probes.join('\nunion all\n')}\nlimit 1`, [id, ...tables.map((t) => t.typename)]);
    return rows[0]?.typename ?? null;
  }
}
