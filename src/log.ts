/**
 * createLogger makes the node's pino logger: JSON lines on stdout, written in batches so the
 * access log costs little per request, and flushed at least every LOG_FLUSH_INTERVAL_MS so a
 * quiet node never holds a line back. `close` flushes and stops the timer (shutdown).
 *
 * writeLogLine is how the per-request path logs (src/proxy/access-log.ts): a line it formatted
 * itself, gathered with the other lines of the same event-loop turn into one write. pino's
 * stream joins every write into its buffer, and that costs more per line than the line itself.
 */
import { pino, type Logger } from 'pino';

/** LOG_FLUSH_INTERVAL_MS bounds how long a log line may wait in the write buffer. */
export const LOG_FLUSH_INTERVAL_MS = 1_000;
const LOG_BUFFER_BYTES = 4096;
/**
 * LOG_MAX_BUFFER_BYTES bounds what waits for a slow stdout; past it lines are dropped rather than
 * held in memory (or the proxy blocked).
 */
export const LOG_MAX_BUFFER_BYTES = 16 * 1024 * 1024;
/** LINE_BATCH_MAX_CHARS writes a turn's lines early once they are this long. */
const LINE_BATCH_MAX_CHARS = 16 * 1024;

export interface NodeLogger {
  logger: Logger;
  close(): void;
}

interface LineStream {
  write(text: string): unknown;
}

/** LineBatch is the lines of one event-loop turn for one batched stream. */
interface LineBatch {
  text: string;
  scheduled: boolean;
}

/** Streams made by createLogger in batched mode, with the lines waiting for them. */
const batches = new WeakMap<LineStream, LineBatch>();

export function createLogger(level: string, options: { sync?: boolean } = {}): NodeLogger {
  const sync = options.sync ?? false;
  const destination = pino.destination({
    dest: 1,
    sync,
    minLength: sync ? 0 : LOG_BUFFER_BYTES,
    maxLength: sync ? 0 : LOG_MAX_BUFFER_BYTES,
  });
  const logger = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  if (!sync) batches.set(destination, { text: '', scheduled: false });
  const timer = sync ? null : setInterval(() => destination.flush(), LOG_FLUSH_INTERVAL_MS);
  timer?.unref();
  return {
    logger,
    close: () => {
      if (timer !== null) clearInterval(timer);
      const batch = batches.get(destination);
      if (batch !== undefined) writeBatch(destination, batch);
      try {
        destination.flushSync();
      } catch {
        // Nothing buffered, or stdout is gone: nothing left to do.
      }
    },
  };
}

/** writeLogLine writes `line` (one JSON line with its newline) to `logger`'s stream. */
export function writeLogLine(logger: Logger, line: string): void {
  const stream = (logger as unknown as Record<symbol, LineStream>)[pino.symbols.streamSym];
  const batch = batches.get(stream);
  if (batch === undefined) {
    stream.write(line);
    return;
  }
  batch.text += line;
  if (batch.text.length >= LINE_BATCH_MAX_CHARS) writeBatch(stream, batch);
  else if (!batch.scheduled) {
    batch.scheduled = true;
    setImmediate(writeBatch, stream, batch);
  }
}

function writeBatch(stream: LineStream, batch: LineBatch): void {
  batch.scheduled = false;
  if (batch.text === '') return;
  const text = batch.text;
  batch.text = '';
  stream.write(text);
}
