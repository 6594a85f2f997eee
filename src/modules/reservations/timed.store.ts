import { performance } from 'node:perf_hooks';
import type { ReservationStore } from './reservation.store.js';

/** The store's calls that run one script each (in Redis, one Lua script: lua/<name>.lua), by method. */
const SCRIPTS = {
  reserve: 'reserve',
  post: 'post',
  release: 'release',
  sync: 'sync',
  beginLoad: 'begin-load',
  load: 'load',
  loadPeriod: 'load-period',
  inspect: 'inspect',
  drop: 'drop',
} as const satisfies Partial<Record<keyof ReservationStore, string>>;

/**
 * Times every script call of a store (`observe(script, seconds)`, failed calls too), in place:
 * the store keeps its class, so whatever else it offers stays as it is.
 */
export function timeStoreScripts<S extends ReservationStore>(store: S, observe: (script: string, seconds: number) => void): S {
  const methods = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const [method, script] of Object.entries(SCRIPTS)) {
    const call = methods[method]!.bind(store);
    methods[method] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        return await call(...args);
      } finally {
        observe(script, (performance.now() - started) / 1000);
      }
    };
  }
  return store;
}
