/**
 * createLogger makes the node's pino logger: JSON lines on stdout, written in batches so the
 * access log costs little per request, and flushed at least every LOG_FLUSH_INTERVAL_MS so a
 * quiet node never holds a line back. `close` flushes and stops the timer (shutdown).
 *
 * writeLogLine is how the per-request path logs (src/proxy/access-log.ts): a line it formatted
 * itself, gathered with the lines of the next LINE_BATCH_MAX_WAIT_MS into one write, as nginx's
 * `access_log … buffer= flush=` does. pino's stream measures its whole pending buffer on every
 * write, which costs more per line than the line itself; once per batch it costs little.
 */
import { pino, type Logger } from 'pino';

/** LOG_CLOSE_TIMEOUT_MS bounds how long shutdown waits for stdout to take the last lines. */
export const LOG_CLOSE_TIMEOUT_MS = 2_000;
/** LOG_FLUSH_INTERVAL_MS bounds how long a log line may wait in the write buffer. */
export const LOG_FLUSH_INTERVAL_MS = 1_000;
const LOG_BUFFER_BYTES = 4096;
/**
 * LOG_MAX_BUFFER_BYTES bounds what waits for a slow stdout; past it lines are dropped rather than
 * held in memory (or the proxy blocked).
 */
export const LOG_MAX_BUFFER_BYTES = 16 * 1024 * 1024;
/** LINE_BATCH_MAX_CHARS writes a batch early once it is this long. */
const LINE_BATCH_MAX_CHARS = 16 * 1024;
/** LINE_BATCH_MAX_WAIT_MS bounds how long a per-request line waits for others to join it. */
export const LINE_BATCH_MAX_WAIT_MS = 50;

export interface NodeLogger {
  logger: Logger;
  /** close writes every waiting line, waiting at most LOG_CLOSE_TIMEOUT_MS for stdout. */
  close(): Promise<void>;
}

interface LineStream {
  write(text: string): unknown;
}

/** LineBatch is the lines waiting for one batched stream. */
interface LineBatch {
  text: string;
  timer: NodeJS.Timeout | null;
}

/** Streams made by createLogger in batched mode, with the lines waiting for them. */
const batches = new WeakMap<LineStream, LineBatch>();

/** createLogger writes to stdout, or to the file descriptor `dest`. */
export function createLogger(level: string, options: { sync?: boolean; dest?: number } = {}): NodeLogger {
  const sync = options.sync ?? false;
  const destination = pino.destination({
    dest: options.dest ?? 1,
    sync,
    minLength: sync ? 0 : LOG_BUFFER_BYTES,
    maxLength: sync ? 0 : LOG_MAX_BUFFER_BYTES,
  });
  const logger = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  if (!sync) batches.set(destination, { text: '', timer: null });
  const timer = sync ? null : setInterval(() => destination.flush(), LOG_FLUSH_INTERVAL_MS);
  timer?.unref();
  return {
    logger,
    close: () => {
      if (timer !== null) clearInterval(timer);
      const batch = batches.get(destination);
      if (batch !== undefined) writeBatch(destination, batch);
      if (sync) return Promise.resolve();
      // Wait for the write under way and the lines behind it, in order; flushSync alone would
      // write the later lines first and let the process exit before the earlier ones.
      return new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          try {
            destination.flushSync();
          } catch {
            // stdout is gone or still busy: nothing more can be done at exit.
          }
          resolve();
        }, LOG_CLOSE_TIMEOUT_MS);
        destination.flush(() => {
          clearTimeout(deadline);
          resolve();
        });
      });
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
  else if (batch.timer === null) {
    batch.timer = setTimeout(writeBatch, LINE_BATCH_MAX_WAIT_MS, stream, batch);
    batch.timer.unref();
  }
}

function writeBatch(stream: LineStream, batch: LineBatch): void {
  if (batch.timer !== null) clearTimeout(batch.timer);
  batch.timer = null;
  if (batch.text === '') return;
  const text = batch.text;
  batch.text = '';
  stream.write(text);
}
