/** captureLogger is a real pino logger whose lines the test can read and wait for. */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface CapturedLogger {
  logger: Logger;
  lines: LogLine[];
  /** waitFor resolves with the first line (already logged or to come) that matches. */
  waitFor(predicate: (line: LogLine) => boolean): Promise<LogLine>;
}

export function captureLogger(): CapturedLogger {
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text !== '') lines.push(JSON.parse(text) as LogLine);
      }
      for (const waiter of [...waiters]) waiter();
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  return {
    logger,
    lines,
    waitFor(predicate) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const line = lines.find(predicate);
          if (line === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(line);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error('no matching log line'));
        }, 5_000);
        if (!check()) waiters.add(check);
      });
    },
  };
}
