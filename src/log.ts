/**
 * createLogger makes the node's pino logger: JSON lines on stdout, written in batches so the
 * access log costs little per request, and flushed at least every LOG_FLUSH_INTERVAL_MS so a
 * quiet node never holds a line back. `close` flushes and stops the timer (shutdown).
 */
import { pino, type Logger } from 'pino';

/** LOG_FLUSH_INTERVAL_MS bounds how long a log line may wait in the write buffer. */
export const LOG_FLUSH_INTERVAL_MS = 1_000;
const LOG_BUFFER_BYTES = 4096;

export interface NodeLogger {
  logger: Logger;
  close(): void;
}

export function createLogger(level: string, options: { sync?: boolean } = {}): NodeLogger {
  const sync = options.sync ?? false;
  const destination = pino.destination({ dest: 1, sync, minLength: sync ? 0 : LOG_BUFFER_BYTES });
  const logger = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  const timer = sync ? null : setInterval(() => destination.flush(), LOG_FLUSH_INTERVAL_MS);
  timer?.unref();
  return {
    logger,
    close: () => {
      if (timer !== null) clearInterval(timer);
      try {
        destination.flushSync();
      } catch {
        // Nothing buffered, or stdout is gone: nothing left to do.
      }
    },
  };
}
