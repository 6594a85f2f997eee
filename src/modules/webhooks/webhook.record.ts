/** What a webhook announces; the value is the `topic` of the request body. */
export const WebhookTopic = {
  /** An alert crossed its threshold. */
  ALERT_TRIGGERED: 'alert.triggered',
  /** An auto top-up rule asks for money: the alert carries topUpAmount. */
  WALLET_TOP_UP_REQUESTED: 'wallet.top_up_requested',
} as const;
export type WebhookTopic = (typeof WebhookTopic)[keyof typeof WebhookTopic];

export const WEBHOOK_TOPICS: readonly string[] = Object.values(WebhookTopic);

export const WebhookDeliveryStatus = {
  PENDING: 'PENDING',
  DELIVERED: 'DELIVERED',
  FAILED: 'FAILED',
} as const;
export type WebhookDeliveryStatus = (typeof WebhookDeliveryStatus)[keyof typeof WebhookDeliveryStatus];

/** An endpoint as the API shows it: never with its secret. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  topics: WebhookTopic[];
  enabled: boolean;
  consecutiveFailures: number;
  disabledAt: Date | null;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * One try at delivering: the HTTP status (null when there was no answer) and the duration, and
 * nothing else. The error text is made from the status alone (see attemptError): how a request
 * failed (refused, timed out, no such host) or what a receiver answered would let whoever
 * registers endpoints map the network behind the service.
 */
export interface WebhookAttempt {
  attempt: number;
  attemptedAt: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** One event for one endpoint, written by the database with the event it carries. */
export interface WebhookDelivery {
  id: string;
  endpointId: string;
  topic: WebhookTopic;
  eventId: string;
  payload: Record<string, unknown>;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  deliveredAt: Date | null;
  createdAt: Date;
}

export interface WebhookDeliveryWithAttempts extends WebhookDelivery {
  attemptLog: WebhookAttempt[];
}

/** The only error texts an attempt shows: null on 2xx, the status otherwise, or "no response". */
export function attemptError(statusCode: number | null): string | null {
  if (statusCode === null || statusCode === 0) return 'no response';
  return statusCode >= 200 && statusCode < 300 ? null : `the endpoint answered HTTP ${statusCode}`;
}
