import { ChunkedDecoder } from '../upstream/chunked-decoder.ts';
import type { ClientConnection } from './http-server.ts';
import type { RequestHead } from './request-head.ts';

/** ClientBodyError is a request body that could not be read: cut short, malformed or too slow. */
export class ClientBodyError extends Error {
  readonly code = 'CLIENT_BODY';
}

/** BODY_HIGH_WATER_BYTES is how much request body is read ahead of its reader before the client is paused. */
const BODY_HIGH_WATER_BYTES = 64 * 1024;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/**
 * RequestBody is a request body as it arrives on a client connection of HttpServer
 * (http-server.ts), decoded from its framing: an async iterable with one reader. Pieces are read
 * ahead up to BODY_HIGH_WATER_BYTES, then the client is paused. An `Expect: 100-continue` client
 * is asked for the body when it is first read. A body the client cuts short, sends malformed or
 * stops sending fails with a ClientBodyError.
 */
export class RequestBody implements AsyncIterable<Buffer>, AsyncIterator<Buffer> {
  readonly #connection: ClientConnection;
  readonly #head: RequestHead;
  /** Bytes still to come (Content-Length framing). */
  #remaining: number;
  readonly #decoder: ChunkedDecoder | null;
  #queue: Buffer[] = [];
  #queued = 0;
  #waiter: { resolve: (result: IteratorResult<Buffer>) => void; reject: (error: Error) => void } | null = null;
  /** When the reader began waiting for the client, on the server's clock. */
  #waitingSince = 0;
  #asked = false;
  complete = false;
  #error: ClientBodyError | null = null;
  readonly #onData = (data: Buffer): void => this.#push(data);

  constructor(connection: ClientConnection, head: RequestHead) {
    this.#connection = connection;
    this.#head = head;
    this.#remaining = head.contentLength ?? 0;
    this.#decoder = head.chunked ? new ChunkedDecoder() : null;
  }

  get failed(): boolean {
    return this.#error !== null;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this;
  }

  next(): Promise<IteratorResult<Buffer>> {
    if (this.#queue.length > 0) {
      const chunk = this.#queue.shift()!;
      this.#queued -= chunk.length;
      if (this.#queued < BODY_HIGH_WATER_BYTES && this.#connection.buf === null) this.#connection.socket.resume();
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.complete) return Promise.resolve({ done: true, value: undefined });
    if (!this.#asked) {
      this.#asked = true;
      const exchange = this.#connection.exchange;
      if (this.#head.expectContinue && exchange !== null && !exchange.headersSent) this.#connection.socket.write(CONTINUE);
    }
    this.#waitingSince = this.#connection.server.now;
    this.#connection.socket.resume();
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** take reads the body's part of `chunk` and returns how many bytes of it were the body's. */
  take(chunk: Buffer): number {
    // A failed body stays failed: what the client sends after it is dropped, never read as body.
    if (this.#error !== null) return chunk.length;
    let used: number;
    if (this.#decoder !== null) {
      try {
        used = this.#decoder.push(chunk, this.#onData);
      } catch (error) {
        this.fail(new ClientBodyError(`bad chunked request body: ${(error as Error).message}`));
        return chunk.length;
      }
      if (this.#decoder.done) this.#end();
    } else {
      used = Math.min(chunk.length, this.#remaining);
      this.#remaining -= used;
      this.#push(used === chunk.length ? chunk : chunk.subarray(0, used));
      if (this.#remaining === 0) this.#end();
    }
    return used;
  }

  #push(data: Buffer): void {
    if (data.length === 0) return;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.resolve({ done: false, value: data });
      return;
    }
    this.#queue.push(data);
    this.#queued += data.length;
    if (this.#queued >= BODY_HIGH_WATER_BYTES) this.#connection.socket.pause();
  }

  #end(): void {
    this.complete = true;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.resolve({ done: true, value: undefined });
    }
  }

  /** fail ends the body with `error`: its reader gets it, and the connection closes after the response. */
  fail(error: ClientBodyError): void {
    if (this.complete || this.#error !== null) return;
    this.#error = error;
    const exchange = this.#connection.exchange;
    if (exchange !== null) exchange.keepAlive = false;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.reject(error);
    }
  }

  /** expire fails a body whose reader has waited `timeoutMs` for the client. */
  expire(now: number, timeoutMs: number): void {
    if (this.#waiter !== null && now - this.#waitingSince >= timeoutMs) {
      this.fail(new ClientBodyError(`the client sent no request body for ${timeoutMs} ms`));
    }
  }
}
