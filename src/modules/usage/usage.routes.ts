import type { ServerResponse } from 'node:http';
import type { RateLimits } from '../../graphql/rate-limits.js';
import { BodyError, parseJson, readBody } from '../../http/body.js';
import { sendJson, type Route } from '../../http/router.js';
import { AppError, ErrorCode } from '../../shared/errors.js';
import type { Credentials } from '../customer-tokens/index.js';
import { Role, type Principal } from '../api-keys/index.js';
import { toUsageResult } from './usage.object.js';
import { MAX_BATCH, type UsageService } from './usage.service.js';

const BATCH = /^application\/cloudevents-batch\+json\b/i;
const SINGLE = /^application\/cloudevents\+json\b/i;

function sendError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: [{ message, extensions: { code, ...extra } }] }, headers);
}

/**
 * `POST /v1/events`: usage in CloudEvents JSON, one event (`application/cloudevents+json`) or a
 * batch of up to 1,000 (`application/cloudevents-batch+json`, the format OpenMeter ingests), for
 * integrators who send events in bulk. The same keys (ADMIN or INGEST) and ingest rate limits as
 * the GraphQL mutations, the same pipeline, the same per-event results as recordUsageBatch, each
 * with the CloudEvent's id and source. `?atomic=true`: all are charged or none is.
 *
 * 200 with the results whenever the request was read (refusals and bad events are results);
 * 400 for a body that is not CloudEvents JSON, 401/403 for credentials, 413 for a body or batch
 * too large, 415 for another content type, 429 (Retry-After) past the rate limit.
 */
export function usageRoutes(deps: {
  usage: UsageService;
  credentials: Credentials;
  rates: RateLimits;
  bodyLimit: number;
  /** Told of the caller once its events are committed, before the response: its next reads must see them. */
  wrote?: (principal: Principal) => void;
}): Route[] {
  return [
    {
      name: 'events',
      path: '/v1/events',
      methods: ['POST'],
      handle: async ({ req, res, url }) => {
        try {
          const principal = await deps.credentials.authenticate(req.headers.authorization);
          if (principal.role !== Role.ADMIN && principal.role !== Role.INGEST) throw new AppError(ErrorCode.FORBIDDEN, 'recording usage needs an ADMIN or INGEST key');
          const type = req.headers['content-type'] ?? '';
          const batch = BATCH.test(type);
          if (!batch && !SINGLE.test(type)) throw new BodyError(415, 'send Content-Type: application/cloudevents-batch+json (an array of CloudEvents) or application/cloudevents+json (one)');
          const body = parseJson(await readBody(req, deps.bodyLimit));
          if (batch && !Array.isArray(body)) throw new BodyError(400, 'a CloudEvents batch is a JSON array of events');
          if (!batch && (typeof body !== 'object' || body === null || Array.isArray(body))) throw new BodyError(400, 'a CloudEvent is a JSON object');
          const events = batch ? (body as unknown[]) : [body];
          if (events.length > MAX_BATCH) throw new BodyError(413, `at most ${MAX_BATCH} events per request`);
          const atomic = url.searchParams.get('atomic') === 'true';
          await deps.rates.consume(principal, 'ingest', events.length);
          const outcomes = await deps.usage.recordCloudEvents(events, atomic);
          deps.wrote?.(principal);
          const results = outcomes.map((o, i) => {
            const e = events[i] as Record<string, unknown> | null;
            const ref = e && typeof e === 'object' ? { id: typeof e.id === 'string' ? e.id : null, source: typeof e.source === 'string' ? e.source : null } : { id: null, source: null };
            return { ...ref, ...toUsageResult(o, i) };
          });
          const failed = atomic ? results.find((r) => r.status !== 'ACCEPTED' && r.status !== 'NOT_CHARGED') : undefined;
          sendJson(res, 200, {
            acceptedCount: results.filter((r) => r.status === 'ACCEPTED').length,
            allAccepted: results.every((r) => r.status === 'ACCEPTED'),
            failedIndex: failed?.index ?? null,
            results,
          });
        } catch (err) {
          if (err instanceof BodyError) return sendError(res, err.status, err.status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : err.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', err.message);
          if (!(err instanceof AppError)) throw err;
          const retryAfter = err.details.retryAfterSeconds;
          const headers: Record<string, string> = typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {};
          const fields = err.details.fields;
          sendError(res, err.httpStatus ?? 400, err.code, err.message, fields ? { fields } : {}, headers);
        }
      },
    },
  ];
}
