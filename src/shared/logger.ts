import pino, { type Logger } from 'pino';

export type { Logger };

/** The process logger: JSON lines on stdout, one child per module. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'billing' }, timestamp: pino.stdTimeFunctions.isoTime });
}
