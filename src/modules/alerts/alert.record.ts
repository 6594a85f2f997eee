/** What a threshold watches. */
export const AlertMetric = {
  /** A wallet's ledger balance, in its currency. */
  WALLET_BALANCE: 'WALLET_BALANCE',
  /** A wallet's balance less what open reservations hold. */
  WALLET_AVAILABLE: 'WALLET_AVAILABLE',
  /** What the customer's usage charged in the current billing period. */
  PERIOD_SPEND: 'PERIOD_SPEND',
  /** A meter's quantity in the current billing period. */
  METER_USAGE: 'METER_USAGE',
  /** Period spend as a percent of the customer's spending cap. */
  SPENDING_CAP_USED: 'SPENDING_CAP_USED',
  /** A meter's period quantity as a percent of an allowance. */
  ALLOWANCE_USED: 'ALLOWANCE_USED',
} as const;
export type AlertMetric = (typeof AlertMetric)[keyof typeof AlertMetric];

export const AlertDirection = { BELOW: 'BELOW', ABOVE: 'ABOVE' } as const;

/** What a failed charge of a wallet's auto-recharge does besides its alert and webhook. */
export const RechargeFailurePolicy = { NONE: 'NONE', SUSPEND: 'SUSPEND' } as const;
export type RechargeFailurePolicy = (typeof RechargeFailurePolicy)[keyof typeof RechargeFailurePolicy];
export type AlertDirection = (typeof AlertDirection)[keyof typeof AlertDirection];

/** A recorded crossing, as the database renders it (alert_json): numbers are decimal strings. */
export interface AlertRecord {
  id: string;
  definitionId: string;
  customerId: string;
  walletId: string | null;
  name: string;
  metric: AlertMetric;
  meterCode: string | null;
  direction: AlertDirection;
  level: number;
  threshold: string;
  value: string;
  periodStart: string | null;
  /** Set for auto top-up requests: how much to top up. */
  topUpAmount: string | null;
  createdAt: string;
}
