import pino, { type DestinationStream, type Logger } from 'pino';
import { logContext } from './request-scope.js';

export type { Logger };

/**
 * The process logger: JSON lines on stdout (or `destination`), one child per module. Every line
 * written while a request is served carries its `requestId` (and, when traced, `traceId` and
 * `spanId`), whichever logger writes it.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'billing' }, timestamp: pino.stdTimeFunctions.isoTime, mixin: logContext }, destination);
}
