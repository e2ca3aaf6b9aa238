/**
 * createLogger makes the node's pino logger: JSON lines on stdout, written asynchronously in
 * batches so the access log costs little per request; `flush` is called on shutdown.
 */
import { pino, type Logger } from 'pino';

export interface NodeLogger {
  logger: Logger;
  flush(): void;
}

export function createLogger(level: string, options: { sync?: boolean } = {}): NodeLogger {
  const destination = pino.destination({ dest: 1, sync: options.sync ?? false, minLength: options.sync ? 0 : 4096 });
  const logger = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return {
    logger,
    flush: () => {
      try {
        destination.flushSync();
      } catch {
        // Nothing buffered, or stdout is gone: nothing left to do.
      }
    },
  };
}
