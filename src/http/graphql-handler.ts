import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { RequestContext } from '../graphql/context.js';
import { BodyError, parseJson, readBody } from './body.js';

export type ContextFactory = (req: IncomingMessage) => Promise<RequestContext>;

/** Serves GraphQL over HTTP (GET and POST) by handing the request to Apollo Server. */
export function createGraphQLHandler(apollo: ApolloServer<RequestContext>, context: ContextFactory, bodyLimit: number) {
  return async (req: IncomingMessage, res: ServerResponse, search: string): Promise<void> => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    try {
      const text = req.method === 'POST' ? await readBody(req, bodyLimit) : '';
      const json = (headers.get('content-type') ?? '').toLowerCase().includes('json');
      body = json ? parseJson(text) : text || undefined;
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ errors: [{ message: err.message, extensions: { code: 'BAD_REQUEST' } }] }));
      return;
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search, body },
      context: () => context(req),
    });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
