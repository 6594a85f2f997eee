import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { connectionType } from '../../graphql/pagination.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import { CreditBlockKind, LedgerEntryKind, LimitMode, type CreditBlock, type LedgerEntry, type Wallet } from './wallet.entity.js';

registerEnumType(LimitMode, {
  name: 'WalletLimitMode',
  valuesConfig: {
    HARD: { description: 'Refuse a debit the wallet cannot cover.' },
    SOFT: { description: 'Accept it and record that the balance went below zero.' },
    OVERDRAFT: { description: 'Accept it down to -overdraftLimit, refuse beyond.' },
  },
});
registerEnumType(CreditBlockKind, { name: 'CreditBlockKind' });
registerEnumType(LedgerEntryKind, { name: 'LedgerEntryKind' });

@ObjectType('Wallet', { implements: Node })
export class WalletObject {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => String)
  currency!: string;

  @Field(() => DecimalScalar, { description: 'Sum of all ledger entries.' })
  balance!: string;

  @Field(() => DecimalScalar, { description: 'Amount held by open reservations.' })
  held!: string;

  @Field(() => DecimalScalar, { description: 'balance - held: what new usage may spend (before any overdraft).' })
  available!: string;

  @Field(() => LimitMode)
  limitMode!: LimitMode;

  @Field(() => DecimalScalar)
  overdraftLimit!: string;

  @Field(() => String, { description: 'Number of ledger entries so far; rises with every change, so a gap shows a missed update.' })
  sequence!: string;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => Date)
  createdAt!: Date;
}


@ObjectType('CreditBlock', { implements: Node, description: 'A pot inside a wallet: the MAIN block holds top-ups; each grant has its own.' })
export class CreditBlockObject {
  @Field(() => ID)
  id!: string;

  @Field(() => CreditBlockKind)
  kind!: CreditBlockKind;

  @Field(() => Int, { description: 'Grants with a lower priority are consumed first; MAIN is consumed last.' })
  priority!: number;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => DecimalScalar)
  granted!: string;

  @Field(() => DecimalScalar)
  remaining!: string;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType('LedgerEntry', { description: 'One append-only movement of money: positive credits, negative debits.' })
export class LedgerEntryObject {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  walletId!: string;

  @Field(() => ID)
  creditBlockId!: string;

  @Field(() => LedgerEntryKind)
  kind!: LedgerEntryKind;

  @Field(() => DecimalScalar)
  amount!: string;

  @Field(() => ID, { nullable: true })
  usageBatchId!: string | null;

  @Field(() => String, { nullable: true })
  reference!: string | null;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

export const LedgerEntryConnection = connectionType('LedgerEntry', LedgerEntryObject);

/** Maps a wallet; `held` comes from the reservation store (zero when nothing is reserved). */
export const WalletConnection = connectionType('Wallet', WalletObject);

export const toWalletObject = (w: Wallet, held = 0n): WalletObject => ({
  id: w.id,
  customerId: w.customerId,
  currency: w.currency,
  balance: formatLedgerUnits(w.balance),
  held: formatLedgerUnits(held),
  available: formatLedgerUnits(w.balance - held),
  limitMode: w.limitMode,
  overdraftLimit: formatLedgerUnits(w.overdraftLimit),
  sequence: w.version.toString(),
  updatedAt: w.updatedAt,
  createdAt: w.createdAt,
});

export const toCreditBlockObject = (b: CreditBlock): CreditBlockObject => ({
  id: b.id,
  kind: b.kind,
  priority: b.priority,
  expiresAt: b.expiresAt,
  granted: formatLedgerUnits(b.granted),
  remaining: formatLedgerUnits(b.remaining),
  reason: b.reason,
  createdAt: b.createdAt,
});

export const toLedgerEntryObject = (e: LedgerEntry): LedgerEntryObject => ({
  id: e.id,
  walletId: e.walletId,
  creditBlockId: e.creditBlockId,
  kind: e.kind,
  amount: formatLedgerUnits(e.amount),
  usageBatchId: e.usageBatchId,
  reference: e.reference,
  description: e.description,
  createdAt: e.createdAt,
});
