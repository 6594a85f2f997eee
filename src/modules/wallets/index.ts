export { CreditBlock, CreditBlockSchema, LedgerEntry, LedgerEntryKind, LedgerEntrySchema, LimitMode, Wallet, WalletSchema } from './wallet.entity.js';
export { LedgerRepository, type AppendResult, type NewLedgerEntry, type WalletTotals } from './ledger.repository.js';
export { WalletService, type LedgerMoveResult } from './wallet.service.js';
export { CustomerWalletsResolver, WalletResolver } from './wallet.resolver.js';
