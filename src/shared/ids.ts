import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Random bytes drawn from a pool refilled 4 KiB at a time: one system call per 400 ids. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function randomByte(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}

/**
 * A UUID version 7: 48 bits of Unix milliseconds then random bits, so ids sort by creation
 * time and make good cursors and B-tree keys.
 */
export function newId(nowMs: number = Date.now()): string {
  // 48 bits of milliseconds as 12 hex digits (exact: below 2^53).
  const ms = Math.floor(nowMs).toString(16).padStart(12, '0').slice(-12);
  let rand = '';
  for (let i = 0; i < 10; i++) {
    let b = randomByte();
    if (i === 0) b = (b & 0x0f) | 0x70; // version 7
    if (i === 2) b = (b & 0x3f) | 0x80; // RFC 4122 variant
    rand += HEX[b];
  }
  return `${ms.slice(0, 8)}-${ms.slice(8)}-${rand.slice(0, 4)}-${rand.slice(4, 8)}-${rand.slice(8)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);
