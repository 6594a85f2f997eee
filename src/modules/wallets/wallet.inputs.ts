import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import type { Decimal } from '../../shared/money/decimal.js';
import { LimitMode } from './wallet.entity.js';
import { CreditBlockObject, LedgerEntryObject, WalletObject } from './wallet.object.js';

@InputType()
export class CreateWalletInput {
  @Field(() => ID)
  customerId!: string;

  @Field(() => String, { nullable: true, description: "Currency or credit unit; the customer's currency when absent." })
  currency?: string | null;

  @Field(() => LimitMode, { nullable: true, defaultValue: LimitMode.HARD })
  limitMode?: LimitMode | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'How far below zero an OVERDRAFT wallet may go.' })
  overdraftLimit?: Decimal | null;
}

@ObjectType()
export class CreateWalletPayload {
  @Field(() => WalletObject)
  wallet!: WalletObject;
}

@InputType()
export class UpdateWalletInput {
  @Field(() => ID)
  id!: string;

  @Field(() => LimitMode, { nullable: true })
  limitMode?: LimitMode | null;

  @Field(() => DecimalScalar, { nullable: true })
  overdraftLimit?: Decimal | null;
}

@ObjectType()
export class UpdateWalletPayload {
  @Field(() => WalletObject)
  wallet!: WalletObject;
}

@InputType()
export class TopUpWalletInput {
  @Field(() => ID)
  walletId!: string;

  @Field(() => DecimalScalar, { description: 'Positive, at most 9 decimals.' })
  amount!: Decimal;

  @Field(() => String, { description: 'Unique per top-up: a retry with the same key returns the first result.' })
  idempotencyKey!: string;

  @Field(() => String, { nullable: true, description: 'Your payment reference.' })
  reference?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@ObjectType({ description: 'The result of a money movement; a retry with the same idempotency key returns the same.' })
export class LedgerMovePayload {
  @Field(() => WalletObject, { description: 'The wallet as it is now.' })
  wallet!: WalletObject;

  @Field(() => LedgerEntryObject)
  entry!: LedgerEntryObject;

  @Field(() => DecimalScalar, { description: 'The balance right after this movement.' })
  balanceAfter!: string;

  @Field(() => Boolean, { description: 'True when this is the answer of an earlier request with the same idempotency key, returned again: nothing moved this time.' })
  replayed!: boolean;
}

@ObjectType()
export class TopUpWalletPayload extends LedgerMovePayload {}

@InputType()
export class GrantCreditsInput {
  @Field(() => ID)
  walletId!: string;

  @Field(() => DecimalScalar)
  amount!: Decimal;

  @Field(() => String)
  idempotencyKey!: string;

  @Field(() => Int, { nullable: true, defaultValue: 0, description: 'Lower is consumed first (0-1000).' })
  priority?: number | null;

  @Field(() => Date, { nullable: true, description: 'After this instant the rest of the grant no longer counts.' })
  expiresAt?: Date | null;

  @Field(() => String, { nullable: true })
  reason?: string | null;
}

@ObjectType()
export class GrantCreditsPayload extends LedgerMovePayload {
  @Field(() => CreditBlockObject)
  creditBlock!: CreditBlockObject;
}
