/**
 * A timestamp column as the text keyset cursors carry (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, UTC):
 * exact to the microsecond, and compared back with `$n::timestamptz`. Reading it as a JS Date
 * would round it to the millisecond, and a page could then skip or repeat rows.
 */
export const timestampKey = (column: string): string => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
