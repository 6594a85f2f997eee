import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Config } from '../../config/config.js';
import type { SqlPool } from '../../db/sql.js';
import type { Page, PageRequest } from '../../graphql/pagination.js';
import type { Clock } from '../../shared/clock.js';
import { notFound } from '../../shared/errors.js';
import { isUuid, newId } from '../../shared/ids.js';
import { Checker } from '../../shared/validation.js';
import { hostOf, isAllowedAddress, systemResolver } from './webhook-address.client.js';
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

/** `whsec_` and 32 random bytes, base64url: the key of the endpoint's HMAC signatures. */
const newSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/** Webhook endpoints and their delivery log. */
export class WebhookService {
  private readonly repo: WebhookRepository;

  constructor(
    readonly sql: SqlPool,
    readonly clock: Clock,
    readonly config: Pick<Config['webhooks'], 'allowPrivateNetworks'>,
  ) {
    this.repo = new WebhookRepository(sql);
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
      createdAt: now,
      updatedAt: now,
    };
    const secret = newSecret();
    await this.repo.insertEndpoint(endpoint, secret);
    return { endpoint, secret };
  }

  listEndpoints(): Promise<WebhookEndpoint[]> {
    return this.repo.endpoints();
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
    if (!isUuid(endpointId) || !(await this.repo.endpoint(endpointId))) throw notFound('webhook endpoint', endpointId);
    return this.repo.deliveriesPage(endpointId, page, status ?? null);
  }

  async delivery(id: string): Promise<WebhookDeliveryWithAttempts | null> {
    return isUuid(id) ? this.repo.delivery(id) : null;
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
