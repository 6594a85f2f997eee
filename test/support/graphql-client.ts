import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

export interface GraphQLErrorShape {
  message: string;
  path?: Array<string | number>;
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GraphQLResult<T> {
  status: number;
  data?: T | null;
  errors?: GraphQLErrorShape[];
}

/** A typed GraphQL-over-HTTP client for tests: one key, typed documents, raw status kept. */
export class TestClient {
  constructor(
    readonly url: string,
    readonly key: string | undefined,
  ) {}

  withKey(key: string | undefined): TestClient {
    return new TestClient(this.url, key);
  }

  async request<T, V>(document: TypedDocumentNode<T, V>, variables?: V): Promise<GraphQLResult<T>> {
    return this.raw<T>(print(document), variables as Record<string, unknown> | undefined);
  }

  async raw<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    const res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as Omit<GraphQLResult<T>, 'status'>;
    return { status: res.status, ...body };
  }

  /** Runs a document that must succeed; throws with the errors otherwise. */
  async ok<T, V>(document: TypedDocumentNode<T, V>, variables?: V): Promise<T> {
    const result = await this.request(document, variables);
    if (result.errors?.length || !result.data) {
      throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    }
    return result.data;
  }
}

/** The error codes of a result, in order. */
export const codesOf = (result: GraphQLResult<unknown>): Array<string | undefined> => (result.errors ?? []).map((e) => e.extensions?.code);
