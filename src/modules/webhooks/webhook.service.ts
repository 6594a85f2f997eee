import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Config } from '../../config/config.js';
import type { SqlPool } from '../../db/sql.js';
import { toTimeIdPosition, type Page, type PageRequest, type TimeIdPosition } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { AppError, ErrorCode, notFound, ValidationError } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import { Checker } from '../../shared/validation.js';
import { IdempotencyRepository, requestHash } from '../idempotency/index.js';
import { hostOf, isAllowedAddress, systemResolver } from './webhook-address.client.js';
import { secretFromKey } from './webhook-signature.pure.js';
import { WEBHOOK_TOPICS, type WebhookDeliveryStatus, type WebhookDeliveryWithAttempts, type WebhookEndpoint, type WebhookTopic } from './webhook.record.js';
import { WebhookRepository, type EndpointPatch } from './webhook.repository.js';

export interface CreateWebhookEndpointCommand {
  url: string;
  topics: readonly string[];
  description?: string | null;
}

export interface UpdateWebhookEndpointCommand {
  id: string;
  url?: string | null;
  topics?: readonly string[] | null;
  /** null clears the description. */
  description?: string | null;
  /** true re-enables a disabled endpoint and forgets its failures. */
  enabled?: boolean | null;
}

export interface RotateWebhookSecretCommand {
  id: string;
  /** How long the replaced secret keeps signing, in seconds (default one day; 0 stops it at once). */
  graceSeconds?: number | null;
}

export interface ReplayWebhookEventsCommand {
  endpointId: string;
  since: Date;
  until: Date;
  /** Default: the endpoint's topics. */
  topics?: readonly string[] | null;
  idempotencyKey: string;
}

/** What a replay enqueued; a retry with its idempotency key gets the same answer. */
export interface ReplayResult {
  replayId: string;
  endpointId: string;
  events: number;
  /** The answer of an earlier request with the same idempotency key, returned again (never stored). */
  replayed: boolean;
}

/** `whsec_` and 32 random bytes in base64: the key of the endpoint's signatures (Standard Webhooks). */
const newSecret = (): string => secretFromKey(randomBytes(32));

/** The most events one replay sends: a longer range is replayed in parts. */
export const MAX_REPLAY_EVENTS = 10_000;
const DEFAULT_GRACE_SECONDS = 86_400;
const MAX_GRACE_SECONDS = 7 * 86_400;

/** Webhook endpoints and their delivery log. */
export class WebhookService {
  private readonly repo: WebhookRepository;
  /** The lists callers read (endpoints, deliveries), apart from the endpoints' writes. */
  private readonly reads: WebhookRepository;
  private readonly idempotency = new IdempotencyRepository();
  private readonly replayedListeners: Array<(r: ReplayResult) => void> = [];

  constructor(
    readonly sql: SqlPool,
    readonly clock: Clock,
    readonly config: Pick<Config['webhooks'], 'allowPrivateNetworks'>,
    readSql: SqlPool = sql,
  ) {
    this.repo = new WebhookRepository(sql);
    this.reads = new WebhookRepository(readSql);
  }

  /** Registers an endpoint; the secret is returned here and never again. */
  async createEndpoint(cmd: CreateWebhookEndpointCommand): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const check = new Checker();
    const url = checkUrl(check, 'url', cmd.url);
    const topics = checkTopics(check, 'topics', cmd.topics);
    const description = check.text('description', cmd.description, { max: 200 }) ?? null;
    if (url !== undefined) await this.checkAddress(check, 'url', url);
    check.done();

    const now = this.clock.now();
    const endpoint: WebhookEndpoint = {
      id: newId(now.getTime()),
      url: url!,
      description,
      topics: topics!,
      enabled: true,
      consecutiveFailures: 0,
      disabledAt: null,
      disabledReason: null,
      previousSecretExpiresAt: null,
      createdAt: now,
      updatedAt: now,
    };
    const secret = newSecret();
    await this.repo.insertEndpoint(endpoint, secret);
    return { endpoint, secret };
  }

  /** Registers a listener for replays committed (to send their deliveries at once). */
  onReplayed(listener: (r: ReplayResult) => void): void {
    this.replayedListeners.push(listener);
  }

  /**
   * Gives an endpoint a new secret, returned here only. Deliveries are signed with both the new
   * and the replaced secret for graceSeconds, so receivers can switch without refusing any.
   */
  async rotateSecret(cmd: RotateWebhookSecretCommand): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const check = new Checker();
    const grace = check.integer('graceSeconds', cmd.graceSeconds, { min: 0, max: MAX_GRACE_SECONDS }) ?? DEFAULT_GRACE_SECONDS;
    check.done();
    const now = this.clock.now();
    const secret = newSecret();
    const endpoint = isUuid(cmd.id) ? await this.repo.rotateSecret(cmd.id, secret, grace > 0 ? new Date(now.getTime() + grace * 1000) : null, now) : null;
    if (!endpoint) throw notFound('webhook endpoint', cmd.id);
    return { endpoint, secret };
  }

  /**
   * Sends the logged events of [since, until) of the given topics to one endpoint again, with
   * their ids, timestamps and data unchanged (receivers deduplicate on the id). At most
   * MAX_REPLAY_EVENTS per call; idempotent on the key.
   */
  async replay(cmd: ReplayWebhookEventsCommand): Promise<ReplayResult> {
    const check = new Checker();
    const key = check.idempotencyKey('idempotencyKey', cmd.idempotencyKey);
    if (cmd.since.getTime() >= cmd.until.getTime()) check.fail('until', 'must be after since');
    const asked = cmd.topics ? checkTopics(check, 'topics', cmd.topics) : undefined;
    check.done();
    if (!isUuid(cmd.endpointId)) throw notFound('webhook endpoint', cmd.endpointId);
    const hash = requestHash({ endpointId: cmd.endpointId, since: cmd.since, until: cmd.until, topics: asked ? [...asked].sort() : null });
    let fresh = false;
    const result = await this.sql.transaction(async (client) => {
      fresh = false;
      const now = this.clock.now();
      const claim = await this.idempotency.claim<Omit<ReplayResult, 'replayed'>>(client, 'replayWebhookEvents', key!, hash, now);
      if (claim.kind === 'replay') return { ...claim.response, replayed: true };
      const endpoint = await this.repo.endpointIn(client, cmd.endpointId);
      if (!endpoint) throw notFound('webhook endpoint', cmd.endpointId);
      const topics = asked ?? endpoint.topics;
      const unsubscribed = topics.filter((t) => !endpoint.topics.includes(t));
      if (unsubscribed.length > 0) {
        throw new ValidationError([{ path: 'topics', message: `the endpoint does not subscribe to ${unsubscribed.join(', ')}: subscribe it first (updateWebhookEndpoint)` }]);
      }
      const range = { since: cmd.since, until: cmd.until, topics };
      if ((await this.repo.countEvents(client, range, MAX_REPLAY_EVENTS + 1)) > MAX_REPLAY_EVENTS) {
        throw new AppError(ErrorCode.LIMIT_EXCEEDED, `more than ${MAX_REPLAY_EVENTS} events happened between since and until: replay a shorter range at a time`, {
          max: MAX_REPLAY_EVENTS,
        });
      }
      const replayId = newId(now.getTime());
      const events = await this.repo.enqueueReplay(client, endpoint.id, replayId, range, now, MAX_REPLAY_EVENTS);
      const response: Omit<ReplayResult, 'replayed'> = { replayId, endpointId: endpoint.id, events };
      await this.idempotency.complete(client, 'replayWebhookEvents', key!, response);
      fresh = true;
      return { ...response, replayed: false };
    });
    if (fresh) for (const listener of this.replayedListeners) listener(result);
    return result;
  }

  /** Deliveries not yet delivered nor failed for good (billing_webhook_backlog). */
  backlog(): Promise<number> {
    return this.repo.pendingCount();
  }

  /** A page of the endpoints, oldest first. */
  listEndpoints(page: PageRequest): Promise<Page<{ endpoint: WebhookEndpoint; position: TimeIdPosition }>> {
    return this.reads.endpoints(toTimeIdPosition(page.after), page.first);
  }

  /** One endpoint; null for an unknown or malformed id. */
  endpoint(id: string): Promise<WebhookEndpoint | null> {
    return isUuid(id) ? this.reads.endpoint(id) : Promise.resolve(null);
  }

  /** Changes the given fields; absent fields stay. */
  async updateEndpoint(cmd: UpdateWebhookEndpointCommand): Promise<WebhookEndpoint> {
    const check = new Checker();
    const patch: EndpointPatch = {};
    if (cmd.url !== undefined) patch.url = checkUrl(check, 'url', cmd.url);
    if (cmd.topics !== undefined) patch.topics = checkTopics(check, 'topics', cmd.topics);
    if (cmd.description !== undefined) patch.description = check.text('description', cmd.description, { max: 200 }) ?? null;
    if (cmd.enabled !== undefined && cmd.enabled !== null) patch.enabled = cmd.enabled;
    if (patch.url !== undefined) await this.checkAddress(check, 'url', patch.url);
    check.done();

    const endpoint = isUuid(cmd.id) ? await this.repo.updateEndpoint(cmd.id, patch, this.clock.now()) : null;
    if (!endpoint) throw notFound('webhook endpoint', cmd.id);
    return endpoint;
  }

  /** An endpoint's deliveries, newest first, each with its attempts. */
  async deliveries(endpointId: string, page: PageRequest, status?: WebhookDeliveryStatus | null): Promise<Page<WebhookDeliveryWithAttempts>> {
    const check = new Checker();
    if (page.after !== undefined && !isUuid(page.after)) check.fail('after', 'is not a cursor returned by this API');
    check.done();
    if (!isUuid(endpointId) || !(await this.reads.endpoint(endpointId))) throw notFound('webhook endpoint', endpointId);
    return this.reads.deliveriesPage(endpointId, page, status ?? null);
  }

  async delivery(id: string): Promise<WebhookDeliveryWithAttempts | null> {
    return isUuid(id) ? this.reads.delivery(id) : null;
  }

  /**
   * Refuses a URL whose host is, or resolves to, an address webhooks may not reach (see
   * webhook-address.client.ts). This is for the API user's sake; the worker checks again at every
   * connection, since the name may point elsewhere by then. A name that does not resolve gets the
   * same answer as one that resolves inward, so the check cannot probe the internal DNS. With
   * private networks allowed, a name that does not resolve (yet) is accepted: the only addresses
   * still refused are link-local and metadata ones, and the connection-time check stops those.
   */
  private async checkAddress(check: Checker, path: string, url: string): Promise<void> {
    const allowPrivate = this.config.allowPrivateNetworks;
    const host = hostOf(new URL(url));
    const hint = allowPrivate ? '' : ' (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows private networks for receivers on premises)';
    if (isIP(host)) {
      if (!isAllowedAddress(host, allowPrivate)) check.fail(path, `must not point at a loopback, private, link-local, metadata or other non-public address${hint}`);
      return;
    }
    const addresses = await systemResolver(host).catch(() => []);
    if (addresses.length === 0 && allowPrivate) return;
    if (addresses.length === 0 || addresses.some((a) => !isAllowedAddress(a.address, allowPrivate))) {
      check.fail(path, `host ${host} must resolve to public addresses only: it does not resolve, or resolves to a loopback, private, link-local or other non-public address${hint}`);
    }
  }
}

/** An absolute http(s) URL without credentials (the signature authenticates the sender). */
function checkUrl(check: Checker, path: string, value: string | null | undefined): string | undefined {
  const text = check.text(path, value, { max: 2048, required: true });
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return check.fail(path, 'must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return check.fail(path, 'must be an absolute http or https URL');
  if (url.username || url.password) return check.fail(path, 'must not contain a user name or password');
  return text;
}

function checkTopics(check: Checker, path: string, value: readonly string[] | null | undefined): WebhookTopic[] | undefined {
  if (!value || value.length === 0) return check.fail(path, 'must list at least one topic');
  const unknown = value.filter((t) => !WEBHOOK_TOPICS.includes(t));
  if (unknown.length > 0) return check.fail(path, `unknown topics ${unknown.join(', ')}: use ${WEBHOOK_TOPICS.join(', ')}`);
  return [...new Set(value)] as WebhookTopic[];
}
