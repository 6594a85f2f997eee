import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { RequestContext } from '../graphql/context.js';
import { Tracing } from '../shared/tracing.js';
import { BodyError, parseJson, readBody } from './body.js';

const DOCUMENT_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'VALIDATION_FAILED']);

/**
 * GraphQL over HTTP: when the document cannot be parsed or validated or its variables do not
 * coerce, a response sent as `application/json` uses status 200, because clients of that media
 * type read errors from the body; `application/graphql-response+json` keeps Apollo's 400, and
 * malformed requests (bad parameters) keep 400 in both.
 */
function statusFor(status: number, contentType: string | undefined, body: string): number {
  if (status !== 400 || !(contentType ?? '').startsWith('application/json')) return status;
  try {
    const errors = (JSON.parse(body) as { errors?: Array<{ extensions?: { code?: string } }> }).errors ?? [];
    const documentError = errors.length > 0 && errors.every((e) => DOCUMENT_ERROR_CODES.has(e.extensions?.code ?? ''));
    return documentError ? 200 : status;
  } catch {
    return status;
  }
}

export type ContextFactory = (req: IncomingMessage) => Promise<RequestContext>;

/**
 * Serves GraphQL over HTTP (GET and POST) by handing the request to Apollo Server. Traced, the
 * operation runs in its own span, the parent of every span its resolvers make; Apollo's plugin
 * (operationTelemetryPlugin) names it once the operation is known.
 */
export function createGraphQLHandler(apollo: ApolloServer<RequestContext>, context: ContextFactory, bodyLimit: number, tracing: Tracing = Tracing.off) {
  return async (req: IncomingMessage, res: ServerResponse, search: string): Promise<void> => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    try {
      if (req.method === 'POST') {
        const json = /^application\/(graphql-response\+)?json\b/i.test(headers.get('content-type') ?? '');
        if (!json) throw new BodyError(415, 'POST requests must send Content-Type: application/json');
        body = parseJson(await readBody(req, bodyLimit));
      }
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ errors: [{ message: err.message, extensions: { code: 'BAD_REQUEST' } }] }));
      return;
    }
    const execute = () =>
      apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'GET', headers, search, body },
        context: () => context(req),
      });
    const response = tracing.enabled ? await tracing.inSpan('graphql', {}, execute) : await execute();
    for (const [name, value] of response.headers) res.setHeader(name, value);
    if (response.body.kind === 'complete') {
      res.statusCode = statusFor(response.status ?? 200, response.headers.get('content-type'), response.body.string);
      res.end(response.body.string);
      return;
    }
    res.statusCode = response.status ?? 200;
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
