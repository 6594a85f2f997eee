import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { DecimalScalar } from '../../graphql/scalars/decimal.scalar.js';
import { formatLedgerUnits } from '../../shared/money/units.js';
import { ReservationStatus, type Reservation } from './reservation.record.js';

registerEnumType(ReservationStatus, {
  name: 'ReservationStatus',
  valuesConfig: {
    OPEN: { description: 'Holding money until settled, released or expired.' },
    SETTLED: { description: 'The actual usage was recorded against it.' },
    RELEASED: { description: 'Cancelled; the money is available again.' },
    EXPIRED: { description: 'Its time ran out; the money is available again and it can no longer be settled.' },
  },
});

export const AuthorizationStatus = { AUTHORIZED: 'AUTHORIZED', REFUSED: 'REFUSED' } as const;
registerEnumType(AuthorizationStatus, {
  name: 'AuthorizationStatus',
  valuesConfig: {
    AUTHORIZED: { description: 'The estimate is held: see reservation.' },
    REFUSED: { description: 'Refused by a wallet, a spending cap or a pricing rule; nothing held.' },
  },
});

@ObjectType('Reservation', { implements: Node })
export class ReservationObject {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => String)
  meterCode!: string;

  @Field(() => GraphQLJSONObject, { description: 'The dimensions authorised; settling prices with them.' })
  dimensions!: Record<string, string>;

  @Field(() => GraphQLJSONObject, { description: 'The values authorised (decimal strings); a settle may give actual figures for them.' })
  values!: Record<string, string>;

  @Field(() => DecimalScalar, { nullable: true, description: 'The quantity the hold was priced for; null when an amount was held.' })
  estimatedQuantity!: string | null;

  @Field(() => String)
  currency!: string;

  @Field(() => DecimalScalar, { description: 'Amount held.' })
  amount!: string;

  @Field(() => ReservationStatus)
  status!: ReservationStatus;

  @Field(() => Date)
  expiresAt!: Date;

  @Field(() => ID, { nullable: true })
  settledEventId!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

export const toReservationObject = (r: Reservation): ReservationObject => ({
  id: r.id,
  customerId: r.customerId,
  meterCode: r.meterCode,
  dimensions: r.dimensions,
  values: r.values,
  estimatedQuantity: r.estimatedQuantity,
  currency: r.currency,
  amount: formatLedgerUnits(r.amount),
  status: r.status,
  expiresAt: r.expiresAt,
  settledEventId: r.settledEventId,
  createdAt: r.createdAt,
});
