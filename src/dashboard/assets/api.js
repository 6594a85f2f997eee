// The public GraphQL API, from the browser: queries and the few mutations a MANAGE token may run
// over HTTP, subscriptions over the graphql-transport-ws protocol (only the subset this client
// needs), and CSV exports. The token travels in the Authorization header and in
// connection_init, never in a URL.

/** An error that came back from the API, with its extensions.code. */
export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Runs one query; resolves with its data or rejects with the first error as an ApiError. */
export async function query(token, document, variables = {}) {
  let res;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: document, variables }),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError('The service cannot be reached.', 'NETWORK', 0);
  }
  const body = await res.json().catch(() => ({}));
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.message, first.extensions?.code ?? 'UNKNOWN', res.status);
  if (!res.ok || !body.data) throw new ApiError(`The service answered ${res.status}.`, 'UNKNOWN', res.status);
  return body.data;
}

/**
 * Fetches a CSV export with the token in the Authorization header (a plain link could not carry
 * it) and hands it to the browser as a download named `filename`.
 */
export async function downloadCsv(token, path, filename) {
  let res;
  try {
    res = await fetch(path, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  } catch {
    throw new ApiError('The service cannot be reached.', 'NETWORK', 0);
  }
  if (!res.ok) {
    const first = (await res.json().catch(() => ({}))).errors?.[0];
    throw new ApiError(first?.message ?? `The service answered ${res.status}.`, first?.extensions?.code ?? 'UNKNOWN', res.status);
  }
  const url = URL.createObjectURL(await res.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Runs one mutation; resolves with its data or rejects with the first error as an ApiError. */
export const mutate = query;

const FORBIDDEN_CLOSE = 4403;

/**
 * One WebSocket that keeps the given subscriptions alive: it reconnects with backoff and
 * re-subscribes, so every subscription that starts with a snapshot resynchronises by itself.
 * onStatus receives 'connecting', 'live', 'retrying' or 'refused' (the token was rejected).
 */
export function openLive(token, onStatus) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const subs = new Map();
  let socket = null;
  let acked = false;
  let attempts = 0;
  let closed = false;
  let nextId = 1;

  const send = (message) => socket?.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message));
  const start = (id, sub) => send({ id, type: 'subscribe', payload: { query: sub.document, variables: sub.variables } });

  function connect() {
    onStatus(attempts === 0 ? 'connecting' : 'retrying');
    socket = new WebSocket(url, 'graphql-transport-ws');
    acked = false;
    socket.onopen = () => send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === 'connection_ack') {
        acked = true;
        attempts = 0;
        onStatus('live');
        for (const [id, sub] of subs) start(id, sub);
      } else if (message.type === 'ping') {
        send({ type: 'pong' });
      } else if (message.type === 'next') {
        subs.get(message.id)?.onData(message.payload.data, message.payload.errors);
      } else if (message.type === 'error') {
        subs.get(message.id)?.onData(null, message.payload);
      }
    };
    socket.onclose = (event) => {
      socket = null;
      if (closed) return;
      if (event.code === FORBIDDEN_CLOSE) {
        onStatus('refused');
        return;
      }
      attempts++;
      const delay = Math.min(30_000, 1_000 * 2 ** Math.min(attempts - 1, 5)) * (0.5 + Math.random() / 2);
      onStatus('retrying');
      setTimeout(() => !closed && connect(), delay);
    };
  }

  connect();
  return {
    /** Subscribes; onData(data, errors) gets every result. Returns a function that stops it. */
    subscribe(document, variables, onData) {
      const id = String(nextId++);
      const sub = { document, variables, onData };
      subs.set(id, sub);
      if (acked) start(id, sub);
      return () => {
        subs.delete(id);
        if (acked) send({ id, type: 'complete' });
      };
    },
    close() {
      closed = true;
      socket?.close(1000, 'bye');
    },
  };
}
