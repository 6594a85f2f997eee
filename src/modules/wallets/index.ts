export type { AppendResult } from './ledger.repository.js';
export { LimitMode, type Wallet } from './wallet.entity.js';
export { toWalletObject, WalletObject } from './wallet.object.js';
export { CustomerWalletsResolver, WalletResolver } from './wallet.resolver.js';
export { WalletService, type LedgerMoveResult } from './wallet.service.js';
