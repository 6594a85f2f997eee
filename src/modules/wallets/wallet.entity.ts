import { BigIntType, EntitySchema } from '@mikro-orm/core';

/** What happens when a debit would take the wallet below zero. */
export const LimitMode = {
  /** Refuse the debit. */
  HARD: 'HARD',
  /** Accept it and record that the limit was crossed. */
  SOFT: 'SOFT',
  /** Accept it down to -overdraftLimit, refuse beyond. */
  OVERDRAFT: 'OVERDRAFT',
} as const;
export type LimitMode = (typeof LimitMode)[keyof typeof LimitMode];

export const CreditBlockKind = { MAIN: 'MAIN', GRANT: 'GRANT' } as const;
export type CreditBlockKind = (typeof CreditBlockKind)[keyof typeof CreditBlockKind];

export const LedgerEntryKind = {
  TOP_UP: 'TOP_UP',
  GRANT: 'GRANT',
  USAGE: 'USAGE',
  ADJUSTMENT: 'ADJUSTMENT',
  VOID: 'VOID',
  EXPIRATION: 'EXPIRATION',
} as const;
export type LedgerEntryKind = (typeof LedgerEntryKind)[keyof typeof LedgerEntryKind];

/**
 * A customer's prepaid money in one currency or credit unit. `balance` and `version` (the number
 * of ledger entries) are maintained by the database from the ledger; code never writes them.
 * Amounts are ledger units (1e-9 of the currency), as bigint.
 */
export class Wallet {
  id!: string;
  customerId!: string;
  currency!: string;
  limitMode!: LimitMode;
  overdraftLimit!: bigint;
  balance!: bigint;
  version!: bigint;
  createdAt!: Date;
  updatedAt!: Date;
}

/**
 * A pot of money inside a wallet. Top-ups go to the wallet's one MAIN block; each grant is its
 * own block with a priority and an optional expiry. Debits consume grants by priority (lowest
 * first), then soonest expiry, then age, and the MAIN block last.
 */
export class CreditBlock {
  id!: string;
  walletId!: string;
  kind!: CreditBlockKind;
  priority!: number;
  expiresAt!: Date | null;
  granted!: bigint;
  remaining!: bigint;
  reason!: string | null;
  createdAt!: Date;
}

/** One append-only movement of money; positive credits, negative debits. */
export class LedgerEntry {
  id!: string;
  walletId!: string;
  creditBlockId!: string;
  kind!: LedgerEntryKind;
  amount!: bigint;
  usageBatchId!: string | null;
  reference!: string | null;
  description!: string | null;
  createdAt!: Date;
}

const units = () => new BigIntType('bigint');

export const WalletSchema = new EntitySchema<Wallet>({
  class: Wallet,
  tableName: 'wallet',
  properties: {
    id: { type: 'uuid', primary: true },
    customerId: { type: 'uuid' },
    currency: { type: 'string', length: 32 },
    limitMode: { type: 'string', length: 16 },
    overdraftLimit: { type: units() },
    balance: { type: units() },
    version: { type: units() },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    updatedAt: { type: 'Date', columnType: 'timestamptz' },
  },
});

export const CreditBlockSchema = new EntitySchema<CreditBlock>({
  class: CreditBlock,
  tableName: 'credit_block',
  properties: {
    id: { type: 'uuid', primary: true },
    walletId: { type: 'uuid' },
    kind: { type: 'string', length: 8 },
    priority: { type: 'integer' },
    expiresAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    granted: { type: units() },
    remaining: { type: units() },
    reason: { type: 'string', length: 500, nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});

export const LedgerEntrySchema = new EntitySchema<LedgerEntry>({
  class: LedgerEntry,
  tableName: 'ledger_entry',
  readonly: true,
  properties: {
    id: { type: new BigIntType('string'), primary: true },
    walletId: { type: 'uuid' },
    creditBlockId: { type: 'uuid' },
    kind: { type: 'string', length: 16 },
    amount: { type: units() },
    usageBatchId: { type: 'uuid', nullable: true },
    reference: { type: 'string', length: 255, nullable: true },
    description: { type: 'string', length: 500, nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
