import type { WalletFigures } from './reservation.store.js';

/**
 * A wallet's figures from the store's state fields (wbl:, br:, bh:, bx:): held is what open
 * holds keep; available is what unexpired blocks hold beyond that. post.lua computes the same.
 */
export function walletFigures(field: (name: string) => string | undefined, walletId: string, now: number): WalletFigures {
  let held = 0n;
  let available = 0n;
  for (const blockId of (field(`wbl:${walletId}`) ?? '').split(',').filter(Boolean)) {
    const bh = BigInt(field(`bh:${blockId}`) ?? '0');
    held += bh;
    const expires = field(`bx:${blockId}`) ?? '';
    if (expires === '' || Number(expires) > now) available += BigInt(field(`br:${blockId}`) ?? '0') - bh;
  }
  return { walletId, available, held };
}
