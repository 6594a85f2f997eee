import type { SqlClient, SqlPool } from '../../db/sql.js';
import { timestampKey } from '../../db/keyset.js';
import type { Page, PageRequest, TimeIdPosition } from '../../graphql/pagination.js';
import {
  attemptError,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookDeliveryStatus,
  type WebhookDeliveryWithAttempts,
  type WebhookEmission,
  type WebhookEndpoint,
  type WebhookTopic,
} from './webhook.record.js';

interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  topics: WebhookTopic[];
  enabled: boolean;
  consecutive_failures: number;
  disabled_at: Date | null;
  disabled_reason: string | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  topic: WebhookTopic;
  event_id: string;
  payload: Record<string, unknown>;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  delivered_at: Date | null;
  created_at: Date;
  replay_id: string | null;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  attempted_at: Date;
  status_code: number | null;
  duration_ms: number;
}

/** A delivery the worker claimed, with what it needs to send it. */
export interface ClaimedDelivery extends WebhookDelivery {
  url: string;
  /** The secrets to sign with: the current one, then the one before a rotation while it lasts. */
  secrets: string[];
  /** When the event happened: the body's timestamp, the same for every delivery of the event. */
  occurredAt: Date;
}

/** Changes to an endpoint; undefined keeps a value. */
export interface EndpointPatch {
  url?: string;
  topics?: WebhookTopic[];
  /** null clears the description. */
  description?: string | null;
  enabled?: boolean;
}

/** What one attempt came to: only the status and the duration are stored. */
export interface AttemptOutcome {
  /** When the request started, and when its answer (or the failure) came. */
  at: Date;
  finishedAt: Date;
  statusCode: number | null;
  durationMs: number;
}

const ENDPOINT_COLUMNS = 'id, url, description, topics, enabled, consecutive_failures, disabled_at, disabled_reason, previous_secret_expires_at, created_at, updated_at';
const DELIVERY_COLUMNS = 'id, endpoint_id, topic, event_id, payload, status, attempts, next_attempt_at, delivered_at, created_at, replay_id';

const toEndpoint = (r: EndpointRow): WebhookEndpoint => ({
  id: r.id,
  url: r.url,
  description: r.description,
  topics: r.topics,
  enabled: r.enabled,
  consecutiveFailures: r.consecutive_failures,
  disabledAt: r.disabled_at,
  disabledReason: r.disabled_reason,
  previousSecretExpiresAt: r.previous_secret_expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toDelivery = (r: DeliveryRow): WebhookDelivery => ({
  id: r.id,
  endpointId: r.endpoint_id,
  topic: r.topic,
  eventId: r.event_id,
  payload: r.payload,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  deliveredAt: r.delivered_at,
  createdAt: r.created_at,
  replayId: r.replay_id,
});

// The error is made from the status, never read back: rows written before the delivery log
// stopped recording failure details may still hold some.
const toAttempt = (r: AttemptRow): WebhookAttempt => ({
  attempt: r.attempt,
  attemptedAt: r.attempted_at,
  statusCode: r.status_code,
  error: attemptError(r.status_code),
  durationMs: r.duration_ms,
});

export class WebhookRepository {
  constructor(private readonly sql: SqlPool) {}

  async insertEndpoint(e: WebhookEndpoint, secret: string): Promise<void> {
    await this.sql.query(
      `insert into webhook_endpoint (id, url, secret, description, topics, enabled, consecutive_failures, created_at, updated_at)
       values ($1, $2, $3, $4, $5, true, 0, $6, $6)`,
      [e.id, e.url, secret, e.description, e.topics, e.createdAt],
    );
  }

  /** A page of the endpoints, oldest first: keyset on (created_at, id), created_at to the microsecond. */
  async endpoints(after: TimeIdPosition | null, first: number): Promise<Page<{ endpoint: WebhookEndpoint; position: TimeIdPosition }>> {
    const rows = await this.sql.query<EndpointRow & { position_at: string }>(
      `select ${ENDPOINT_COLUMNS}, ${timestampKey('created_at')} as position_at from webhook_endpoint
        where $1::timestamptz is null or (created_at, id) > ($1::timestamptz, $2::uuid)
        order by created_at, id limit $3`,
      [after?.at ?? null, after?.id ?? null, first + 1],
    );
    return { items: rows.slice(0, first).map((r) => ({ endpoint: toEndpoint(r), position: { at: r.position_at, id: r.id } })), hasNextPage: rows.length > first };
  }

  async endpoint(id: string): Promise<WebhookEndpoint | null> {
    const rows = await this.sql.query<EndpointRow>(`select ${ENDPOINT_COLUMNS} from webhook_endpoint where id = $1`, [id]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  /**
   * Applies a patch; null when there is no such endpoint. Enabling clears the failure count and
   * the disabled marks, and makes the endpoint's pending deliveries due at once; disabling by
   * hand records when.
   */
  async updateEndpoint(id: string, patch: EndpointPatch, now: Date): Promise<WebhookEndpoint | null> {
    return this.sql.transaction(async (client) => {
      const before = await client.query<{ enabled: boolean }>('select enabled from webhook_endpoint where id = $1 for update', [id]);
      if (!before.rows[0]) return null;
      const enable = patch.enabled ?? null;
      const updated = await client.query<EndpointRow>(
        `update webhook_endpoint
            set url = coalesce($2::varchar, url),
                topics = coalesce($3::varchar[], topics),
                description = case when $4::boolean then $5::varchar else description end,
                enabled = coalesce($6::boolean, enabled),
                consecutive_failures = case when $6::boolean then 0 else consecutive_failures end,
                disabled_at = case when $6::boolean then null when not $6::boolean and enabled then $7::timestamptz else disabled_at end,
                disabled_reason = case when $6::boolean then null when not $6::boolean and enabled then 'disabled by an administrator' else disabled_reason end,
                updated_at = $7::timestamptz
          where id = $1
         returning ${ENDPOINT_COLUMNS}`,
        [id, patch.url ?? null, patch.topics ?? null, patch.description !== undefined, patch.description ?? null, enable, now],
      );
      if (enable && !before.rows[0].enabled) {
        await client.query(`update webhook_delivery set next_attempt_at = $2 where endpoint_id = $1 and status = 'PENDING' and next_attempt_at > $2`, [id, now]);
      }
      return toEndpoint(updated.rows[0]!);
    });
  }

  /** An endpoint's deliveries, newest first, cursored on the delivery id. */
  async deliveriesPage(endpointId: string, req: PageRequest, status: WebhookDeliveryStatus | null): Promise<Page<WebhookDeliveryWithAttempts>> {
    const rows = await this.sql.query<DeliveryRow>(
      `select ${DELIVERY_COLUMNS} from webhook_delivery
        where endpoint_id = $1
          and ($2::varchar is null or status = $2)
          and ($3::uuid is null or (created_at, id) < (select created_at, id from webhook_delivery where id = $3::uuid))
        order by created_at desc, id desc
        limit $4`,
      [endpointId, status, req.after ?? null, req.first + 1],
    );
    const items = await this.withAttempts(rows.slice(0, req.first).map(toDelivery));
    return { items, hasNextPage: rows.length > req.first };
  }

  async delivery(id: string): Promise<WebhookDeliveryWithAttempts | null> {
    const rows = await this.sql.query<DeliveryRow>(`select ${DELIVERY_COLUMNS} from webhook_delivery where id = $1`, [id]);
    return rows[0] ? (await this.withAttempts([toDelivery(rows[0])]))[0]! : null;
  }

  private async withAttempts(deliveries: WebhookDelivery[]): Promise<WebhookDeliveryWithAttempts[]> {
    if (deliveries.length === 0) return [];
    const rows = await this.sql.query<AttemptRow>(
      `select delivery_id, attempt, attempted_at, status_code, duration_ms
         from webhook_attempt where delivery_id = any ($1::uuid[]) order by delivery_id, attempt, id`,
      [deliveries.map((d) => d.id)],
    );
    const byDelivery = new Map<string, WebhookAttempt[]>(deliveries.map((d) => [d.id, []]));
    for (const r of rows) byDelivery.get(r.delivery_id)!.push(toAttempt(r));
    return deliveries.map((d) => ({ ...d, attemptLog: byDelivery.get(d.id)! }));
  }

  /** Deliveries still pending (counted on the partial index of pending deliveries). */
  async pendingCount(): Promise<number> {
    const rows = await this.sql.query<{ n: number }>(`select count(*)::int as n from webhook_delivery where status = 'PENDING'`);
    return rows[0]!.n;
  }

  /**
   * Claims up to `limit` due deliveries of enabled endpoints for lockMs. SKIP LOCKED plus the
   * lock time means two instances never claim the same delivery: a row another claim is
   * updating is skipped, and once that claim commits its locked_until excludes the row.
   */
  async claimDue(now: Date, lockMs: number, limit: number): Promise<ClaimedDelivery[]> {
    const rows = await this.sql.query<DeliveryRow & { url: string; secret: string; previous_secret: string | null; occurred_at: Date }>(
      `with due as (
         select d.id from webhook_delivery d join webhook_endpoint e on e.id = d.endpoint_id
          where d.status = 'PENDING' and d.next_attempt_at <= $1 and (d.locked_until is null or d.locked_until < $1) and e.enabled
          order by d.next_attempt_at
          limit $3
          for update of d skip locked),
       claimed as (
         update webhook_delivery d set locked_until = $1::timestamptz + $2::int * interval '1 millisecond'
           from due where d.id = due.id
         returning d.*)
       select c.*, e.url, e.secret, case when e.previous_secret_expires_at > $1 then e.previous_secret end as previous_secret,
              coalesce(ev.occurred_at, c.created_at) as occurred_at
         from claimed c join webhook_endpoint e on e.id = c.endpoint_id
         left join webhook_event ev on ev.id = c.event_id
        order by c.next_attempt_at`,
      [now, lockMs, limit],
    );
    return rows.map((r) => ({ ...toDelivery(r), url: r.url, secrets: r.previous_secret ? [r.secret, r.previous_secret] : [r.secret], occurredAt: r.occurred_at }));
  }

  /**
   * Gives the endpoint a new secret; the one it replaces keeps signing until graceUntil (null:
   * it stops at once). Null when there is no such endpoint.
   */
  async rotateSecret(id: string, secret: string, graceUntil: Date | null, now: Date): Promise<WebhookEndpoint | null> {
    const rows = await this.sql.query<EndpointRow>(
      `update webhook_endpoint
          set previous_secret = case when $3::timestamptz is null then null else secret end,
              previous_secret_expires_at = $3::timestamptz, secret = $2, updated_at = $4
        where id = $1
       returning ${ENDPOINT_COLUMNS}`,
      [id, secret, graceUntil, now],
    );
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  /** The endpoint, read in the caller's transaction. */
  async endpointIn(client: SqlClient, id: string): Promise<WebhookEndpoint | null> {
    const { rows } = await client.query<EndpointRow>(`select ${ENDPOINT_COLUMNS} from webhook_endpoint where id = $1`, [id]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  /** How many logged events of these topics happened in [since, until), counting no further than `limit`. */
  async countEvents(client: SqlClient, range: EventRange, limit: number): Promise<number> {
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from (
         select 1 from webhook_event where occurred_at >= $1 and occurred_at < $2 and topic = any ($3::varchar[]) limit $4) x`,
      [range.since, range.until, range.topics, limit],
    );
    return rows[0]!.n;
  }

  /**
   * Writes one delivery to the endpoint for each logged event of the range, oldest first (at most
   * `limit`), all marked with replayId; returns how many.
   */
  async enqueueReplay(client: SqlClient, endpointId: string, replayId: string, range: EventRange, now: Date, limit: number): Promise<number> {
    const { rowCount } = await client.query(
      `insert into webhook_delivery (id, endpoint_id, topic, event_id, payload, next_attempt_at, created_at, replay_id)
       select gen_random_uuid(), $1, ev.topic, ev.id, ev.data, $5, $5, $6
         from (select * from webhook_event
                where occurred_at >= $2 and occurred_at < $3 and topic = any ($4::varchar[])
                order by occurred_at, id limit $7) ev
       on conflict (replay_id, event_id) where replay_id is not null do nothing`,
      [endpointId, range.since, range.until, range.topics, now, replayId, limit],
    );
    return rowCount ?? 0;
  }

  /**
   * Records a successful attempt: the delivery is DELIVERED and the endpoint's failure count
   * starts again. False when the claim was lost (another attempt was recorded meanwhile).
   */
  async recordSuccess(d: ClaimedDelivery, outcome: AttemptOutcome): Promise<boolean> {
    return this.sql.transaction(async (client) => {
      await lockEndpoint(client, d.endpointId);
      const updated = await client.query(
        `update webhook_delivery set status = 'DELIVERED', attempts = attempts + 1, delivered_at = $3, locked_until = null
          where id = $1 and attempts = $2 and status = 'PENDING'`,
        [d.id, d.attempts, outcome.finishedAt],
      );
      if (updated.rowCount !== 1) return false;
      await insertAttempt(client, d.id, d.attempts + 1, outcome);
      await client.query('update webhook_endpoint set consecutive_failures = 0 where id = $1 and consecutive_failures <> 0', [d.endpointId]);
      return true;
    });
  }

  /**
   * Records a failed attempt: the delivery is due again at retryAt, or FAILED after its last
   * attempt; the endpoint counts one more failure in a row and is disabled when the count
   * reaches disableAfter. Returns null when the claim was lost.
   */
  async recordFailure(
    d: ClaimedDelivery,
    outcome: AttemptOutcome,
    plan: { retryAt: Date; maxAttempts: number; disableAfter: number },
  ): Promise<{ status: WebhookDeliveryStatus; failuresInARow: number; disabledNow: boolean } | null> {
    return this.sql.transaction(async (client) => {
      const endpoint = await lockEndpoint(client, d.endpointId);
      const updated = await client.query<{ status: WebhookDeliveryStatus }>(
        `update webhook_delivery
            set attempts = attempts + 1, next_attempt_at = $3, locked_until = null,
                status = case when attempts + 1 >= $4 then 'FAILED' else 'PENDING' end
          where id = $1 and attempts = $2 and status = 'PENDING'
         returning status`,
        [d.id, d.attempts, plan.retryAt, plan.maxAttempts],
      );
      if (updated.rowCount !== 1) return null;
      await insertAttempt(client, d.id, d.attempts + 1, outcome);
      const failuresInARow = endpoint.consecutive_failures + 1;
      const disabledNow = endpoint.enabled && failuresInARow >= plan.disableAfter;
      const reason = `${failuresInARow} delivery attempts failed in a row; the last: ${attemptError(outcome.statusCode)}`;
      await client.query(
        `update webhook_endpoint set consecutive_failures = $2,
                enabled = enabled and not $3::boolean,
                disabled_at = case when $3::boolean then $4::timestamptz else disabled_at end,
                disabled_reason = case when $3::boolean then $5::varchar else disabled_reason end
          where id = $1`,
        [d.endpointId, failuresInARow, disabledNow, outcome.finishedAt, reason],
      );
      return { status: updated.rows[0]!.status, failuresInARow, disabledNow };
    });
  }
}

/** Logged events to replay: those of `topics` that happened in [since, until). */
export interface EventRange {
  since: Date;
  until: Date;
  topics: WebhookTopic[];
}

/**
 * Announces an event to webhooks in the caller's transaction (the change's): logs it once and
 * writes one delivery per enabled endpoint subscribed to its topic (webhook_emit). An event id
 * already logged writes nothing. Returns how many deliveries it wrote.
 */
export async function emitWebhook(client: SqlClient, e: WebhookEmission): Promise<number> {
  const { rows } = await client.query<{ n: number }>('select webhook_emit($1, $2, $3::jsonb, $4) as n', [e.topic, e.eventId, JSON.stringify(e.data), e.at]);
  return rows[0]!.n;
}

/** Endpoint first, then its deliveries: the lock order of every transaction here. */
async function lockEndpoint(client: SqlClient, id: string): Promise<{ enabled: boolean; consecutive_failures: number }> {
  const rows = await client.query<{ enabled: boolean; consecutive_failures: number }>(
    'select enabled, consecutive_failures from webhook_endpoint where id = $1 for update',
    [id],
  );
  return rows.rows[0]!;
}

async function insertAttempt(client: SqlClient, deliveryId: string, attempt: number, o: AttemptOutcome): Promise<void> {
  await client.query(
    `insert into webhook_attempt (delivery_id, attempt, attempted_at, status_code, error, duration_ms) values ($1, $2, $3, $4, $5, $6)`,
    [deliveryId, attempt, o.at, o.statusCode, attemptError(o.statusCode), o.durationMs],
  );
}
