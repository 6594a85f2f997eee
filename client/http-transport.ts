import { BillingError, ClientErrorCode, type FieldError } from './errors.js';
import type { TypedDocumentString } from './generated/graphql.js';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

interface GraphQLErrorBody {
  message?: string;
  extensions?: { code?: string; retryable?: boolean; fields?: FieldError[] };
}

interface GraphQLBody {
  data?: unknown;
  errors?: GraphQLErrorBody[];
}

/** GraphQL over HTTP (POST, JSON): one request, one typed answer or one BillingError. */
export class HttpTransport {
  constructor(
    private readonly url: string,
    private readonly apiKey: string | undefined,
    private readonly fetchImpl: FetchLike,
    private readonly timeoutMs: number,
  ) {}

  async request<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<R> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const body = JSON.stringify({ query: document.toString(), variables });
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await this.fetchImpl(this.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      // Reading the body can fail like the request itself: the reply was lost either way.
      text = await res.text();
    } catch (err) {
      throw new BillingError(ClientErrorCode.NETWORK_ERROR, `no answer from ${this.url}: ${(err as Error).message}`, { retryable: true, cause: err });
    }
    const parsed = parseBody(text);
    const first = parsed?.errors?.[0];
    if (first) throw fromGraphQLError(first, status);
    if (parsed?.data == null || status >= 300) {
      const retryable = status === 429 || status >= 500;
      throw new BillingError(ClientErrorCode.HTTP_ERROR, `HTTP ${status} without a GraphQL answer`, { status, retryable, retryAfterMs: parseRetryAfter(retryAfter) });
    }
    return parsed.data as R;
  }
}

function parseBody(text: string): GraphQLBody | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as GraphQLBody) : undefined;
  } catch {
    return undefined;
  }
}

/** The server's verdict decides: its code, and its `retryable` flag when it sends one. */
function fromGraphQLError(error: GraphQLErrorBody, status: number): BillingError {
  const code = error.extensions?.code ?? 'INTERNAL_SERVER_ERROR';
  return new BillingError(code, error.message ?? code, { status, retryable: error.extensions?.retryable, fields: error.extensions?.fields });
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now. */
function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
