/**
 * HttpServer is Ricochet's HTTP/1.1 server for public listeners, on `node:net`: it reads request
 * heads with parseRequestHead, streams request bodies, and writes responses itself. It replaces
 * node:http's server and ServerResponse on the data plane, which cost a proxy about as much CPU
 * as everything else it does (docs/benchmarks.md, "The leaner path").
 *
 * One exchange (a request and its response) runs at a time on a connection. A pipelined request
 * waits, unread and with the client paused, until the response before it has been written (RFC
 * 9112 §9.3.2). Every wait is bounded by one sweep timer per server: the head of a request
 * (slowloris), a request body that stops arriving, an idle keep-alive connection, and a closing
 * connection that keeps sending.
 */
import net from 'node:net';
import { STATUS_CODES } from 'node:http';
import { ChunkedDecoder } from '../upstream/chunked-decoder.ts';
import { BadRequestError, MAX_REQUEST_HEAD_BYTES, parseRequestHead, type RequestHead } from './request-head.ts';

export interface HttpServerOptions {
  /** Longest time from a connection's first byte, or a request's, to the end of the request head. */
  headTimeoutMs: number;
  /** Longest silence from the client while its request body is being read. */
  bodyTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveMs: number;
  /** How long a closing connection may go on sending before it is reset. */
  lingerMs: number;
}

/** ExchangeHandler serves one request; it must end or destroy the exchange's response. */
export type ExchangeHandler = (exchange: ClientExchange) => void;
/** ClientErrorHandler hears of requests answered by the server itself (400, 408, 431 …). */
export type ClientErrorHandler = (error: BadRequestError | ClientTimeoutError, remoteAddress: string) => void;

/** ClientTimeoutError is a client too slow to send its request head or body. */
export class ClientTimeoutError extends Error {
  readonly status = 408;
  readonly code = 'CLIENT_TIMEOUT';
}

/** ClientBodyError is a request body that could not be read: cut short, malformed or too slow. */
export class ClientBodyError extends Error {
  readonly code = 'CLIENT_BODY';
}

/** BODY_HIGH_WATER_BYTES is how much request body is read ahead of its reader before the client is paused. */
const BODY_HIGH_WATER_BYTES = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
/** COPY_WITH_HEAD_MAX_BYTES is the largest first body piece copied behind the head; a larger one goes beside it (writev). */
const COPY_WITH_HEAD_MAX_BYTES = 16 * 1024;

/** Connection states. */
const HEAD = 0;
const BUSY = 1;
const CLOSING = 2;
const UPGRADED = 3;

export class HttpServer {
  readonly #server: net.Server;
  readonly #handler: ExchangeHandler;
  readonly #onClientError: ClientErrorHandler;
  readonly options: HttpServerOptions;
  readonly #connections = new Set<ClientConnection>();
  #sweeper: NodeJS.Timeout | null = null;
  /** A clock the sweep advances: connections read it instead of the time. */
  now = Date.now();
  /** The Date field, renewed by the sweep. */
  date = new Date(this.now).toUTCString();
  closing = false;

  constructor(handler: ExchangeHandler, options: HttpServerOptions, onClientError: ClientErrorHandler) {
    this.#handler = handler;
    this.#onClientError = onClientError;
    this.options = options;
    // allowHalfOpen: a closing connection still takes what the client sends, and drops it.
    this.#server = net.createServer({ allowHalfOpen: true }, (socket) => {
      this.#connections.add(new ClientConnection(this, socket));
    });
  }

  /** listen opens the server on `host`:`port` (0 for any) and returns the port it got. */
  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const { headTimeoutMs, bodyTimeoutMs, keepAliveMs, lingerMs } = this.options;
    const period = Math.max(10, Math.min(1000, Math.ceil(Math.min(headTimeoutMs, bodyTimeoutMs, keepAliveMs, lingerMs) / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), period);
    this.#sweeper.unref();
    return (this.#server.address() as net.AddressInfo).port;
  }

  /**
   * close stops taking connections, closes the idle ones now and each busy one after its
   * exchange, and resolves once every connection is gone.
   */
  close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const connection of this.#connections) connection.closeIfIdle();
    return closed.finally(() => {
      if (this.#sweeper !== null) clearInterval(this.#sweeper);
      this.#sweeper = null;
    });
  }

  /** destroyConnections resets every connection, upgraded ones included. */
  destroyConnections(): void {
    for (const connection of this.#connections) connection.destroy();
  }

  /** busy says how many connections have an exchange or an upgrade under way. */
  get busy(): number {
    let n = 0;
    for (const connection of this.#connections) if (connection.state === BUSY || connection.state === UPGRADED) n++;
    return n;
  }

  /** serve hands a connection's new exchange to the handler. */
  serve(exchange: ClientExchange): void {
    this.#handler(exchange);
  }

  /** clientError reports a request the server answered itself. */
  clientError(error: BadRequestError | ClientTimeoutError, remoteAddress: string): void {
    this.#onClientError(error, remoteAddress);
  }

  /** forget drops a closed connection. */
  forget(connection: ClientConnection): void {
    this.#connections.delete(connection);
  }

  #sweep(): void {
    this.now = Date.now();
    this.date = new Date(this.now).toUTCString();
    for (const connection of this.#connections) connection.expire();
  }
}

/** ClientConnection is one client socket and the exchange under way on it. */
class ClientConnection {
  readonly server: HttpServer;
  readonly socket: net.Socket;
  readonly remoteAddress: string;
  state = HEAD;
  /** When the current wait began, on the server's clock. */
  since: number;
  /** Bytes of a request head being read, or of a pipelined request waiting its turn. */
  buf: Buffer | null = null;
  /** The buffer `buf` grows in once a head spans reads; `buf` is its first bytes. */
  #store: Buffer | null = null;
  /** How much of `buf` was searched for the end of the head without finding it. */
  #scanned = 0;
  exchange: ClientExchange | null = null;

  constructor(server: HttpServer, socket: net.Socket) {
    this.server = server;
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.since = server.now;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('close', () => this.#onClose());
    socket.on('error', () => {});
  }

  #onData(chunk: Buffer): void {
    switch (this.state) {
      case HEAD:
        if (this.buf === null) this.since = this.server.now;
        this.#append(chunk);
        this.#readHead();
        return;
      case BUSY: {
        const body = this.exchange!.body;
        let rest = chunk;
        if (body !== null && !body.complete) {
          const used = body.take(chunk);
          if (used === chunk.length || body.failed) return;
          rest = chunk.subarray(used);
        }
        // The next request waits for this response, unparsed, with the client paused.
        this.#append(rest);
        this.socket.pause();
        return;
      }
      // CLOSING: what a closing client still sends is dropped.
    }
  }

  /**
   * #append adds `chunk` to `buf`. A head that spans reads is gathered in one buffer that doubles
   * as it fills, so a client sending a byte at a time costs no more than one sending it at once.
   */
  #append(chunk: Buffer): void {
    const buf = this.buf;
    if (buf === null) {
      this.buf = chunk;
      return;
    }
    const length = buf.length + chunk.length;
    let store = this.#store;
    const inStore = store !== null && buf.buffer === store.buffer && buf.byteOffset === store.byteOffset;
    if (!inStore || length > store!.length) {
      store = Buffer.allocUnsafe(Math.max(length * 2, 4096));
      buf.copy(store);
      this.#store = store;
    }
    chunk.copy(store!, buf.length);
    this.buf = store!.subarray(0, length);
  }

  /** #readHead starts an exchange for the request head at the start of `buf`, once it is whole. */
  #readHead(): void {
    const buf = this.buf!;
    let start = 0;
    // RFC 9112 §2.2: empty lines before a request line are ignored.
    while (buf[start] === 13 && buf[start + 1] === 10) start += 2;
    // Search only what came since the last search, and the 3 bytes before it.
    const end = buf.indexOf(HEAD_END, Math.max(start, this.#scanned - 3));
    this.#scanned = end === -1 ? buf.length : 0;
    if (end === -1 || end - start > MAX_REQUEST_HEAD_BYTES) {
      // A head of the largest size may still be waiting for up to 3 bytes of its blank line.
      if (end !== -1 || buf.length - start >= MAX_REQUEST_HEAD_BYTES + HEAD_END.length) {
        this.#refuse(new BadRequestError(431, `request head over ${MAX_REQUEST_HEAD_BYTES} bytes`));
      } else if (start === buf.length) {
        this.buf = null;
        this.#scanned = 0;
      }
      return;
    }
    let head: RequestHead;
    try {
      head = parseRequestHead(buf.toString('latin1', start, end));
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
      this.#refuse(error);
      return;
    }
    const restStart = end + 4;
    this.buf = null;
    this.#store = null;
    this.state = BUSY;
    this.since = this.server.now;
    if (head.upgrade) {
      // The socket is the handler's from here: it writes the answer and joins the two ends.
      this.state = UPGRADED;
      this.socket.pause();
      this.socket.removeAllListeners('data');
      this.socket.removeAllListeners('end');
      const exchange = new ClientExchange(this, head, null);
      exchange.upgradeHead = buf.subarray(restStart);
      this.exchange = exchange;
      this.server.serve(exchange);
      return;
    }
    const hasBody = head.chunked || (head.contentLength !== null && head.contentLength > 0);
    const exchange = new ClientExchange(this, head, hasBody ? new RequestBody(this, head) : null);
    this.exchange = exchange;
    if (restStart < buf.length) this.#onData(buf.subarray(restStart));
    this.server.serve(exchange);
  }

  /** finish follows the end of a response: the next request is read, or the connection closes. */
  finish(exchange: ClientExchange): void {
    if (this.exchange !== exchange) return;
    this.exchange = null;
    // The rest of a body the response did not wait for is never read: its reader stops now.
    exchange.body?.fail(new ClientBodyError('the response ended before the request body'));
    // An upgrade request answered without switching protocols closes (it was not read as HTTP after);
    // so does every connection of a closing server, even one whose response head said keep-alive.
    if (!exchange.keepAlive || this.state === UPGRADED || this.server.closing) {
      this.close();
      return;
    }
    this.state = HEAD;
    this.since = this.server.now;
    if (this.buf === null) {
      this.socket.resume();
      return;
    }
    // A pipelined request starts on its own turn, not inside the write that ended this one.
    setImmediate(() => {
      if (this.state !== HEAD || this.buf === null) return;
      this.socket.resume();
      this.#readHead();
    });
  }

  /** #refuse answers a request the server cannot take, then closes. */
  #refuse(error: BadRequestError | ClientTimeoutError): void {
    this.server.clientError(error, this.remoteAddress);
    const status = error.status;
    const body = `${STATUS_CODES[status]}: ${error.message}\n`;
    this.socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\ndate: ${this.server.date}\r\n\r\n${body}`,
    );
    this.close();
  }

  /**
   * close ends the connection after what was written, reading and dropping what the client still
   * sends: resetting at once could destroy the response before the client reads it.
   */
  close(): void {
    if (this.state === CLOSING) return;
    this.state = CLOSING;
    this.since = this.server.now;
    this.buf = null;
    this.socket.end(() => (this.since = this.server.now));
    this.socket.resume();
  }

  closeIfIdle(): void {
    if (this.state === HEAD && this.buf === null) this.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * #onEnd: a client that ends its side before its response has gone away, as Node's server and
   * nginx take it (docs/decisions.md); the exchange is aborted.
   */
  #onEnd(): void {
    if (this.state === BUSY) this.destroy();
    else this.close();
  }

  #onClose(): void {
    this.state = CLOSING;
    this.buf = null;
    this.server.forget(this);
    const exchange = this.exchange;
    if (exchange !== null) {
      this.exchange = null;
      exchange.body?.fail(new ClientBodyError('the client connection closed'));
      if (!exchange.finished) exchange.onAbort?.();
    }
  }

  /** expire applies the timeouts; the sweep calls it. */
  expire(): void {
    const { options, now } = this.server;
    const age = now - this.since;
    switch (this.state) {
      case HEAD:
        if (this.buf === null ? age >= options.keepAliveMs : age >= options.headTimeoutMs) {
          if (this.buf === null) this.destroy();
          else this.#refuse(new ClientTimeoutError(`the request head took over ${options.headTimeoutMs} ms`));
        }
        return;
      case BUSY:
        this.exchange?.body?.expire(now, options.bodyTimeoutMs);
        return;
      case CLOSING:
        // The client gets keepAliveMs to take the rest of the response, then lingerMs to stop sending.
        if (age >= (this.socket.writableFinished ? options.lingerMs : options.keepAliveMs)) this.destroy();
    }
  }
}

/**
 * RequestBody is a request body as it arrives, decoded from its framing: an async iterable with
 * one reader. Pieces are read ahead up to BODY_HIGH_WATER_BYTES, then the client is paused. An
 * `Expect: 100-continue` client is asked for the body when it is first read.
 */
class RequestBody implements AsyncIterable<Buffer>, AsyncIterator<Buffer> {
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

/** Response framings. */
const NO_BODY = 0;
const LENGTH = 1;
const CHUNKED = 2;
const UNTIL_CLOSE = 3;

/**
 * ClientExchange is one request and its response. The response is written with writeHead, then
 * write and end (it is the BodySink a machine's response streams into); the head goes out with
 * the first piece of the body, so a small response is one write.
 */
export class ClientExchange {
  readonly #connection: ClientConnection;
  readonly head: RequestHead;
  readonly body: RequestBody | null;
  /** For an upgrade request: the bytes the client sent after the head. */
  upgradeHead: Buffer | null = null;
  /** Called when the client goes away before the response is finished. */
  onAbort: (() => void) | null = null;
  keepAlive: boolean;
  headersSent = false;
  finished = false;
  #framing = NO_BODY;
  /** The head, until it goes out with the first piece of the body. */
  #pendingHead: string | null = null;

  constructor(connection: ClientConnection, head: RequestHead, body: RequestBody | null) {
    this.#connection = connection;
    this.head = head;
    this.body = body;
    this.keepAlive = head.keepAlive && !connection.server.closing;
  }

  get remoteAddress(): string {
    return this.#connection.remoteAddress;
  }

  /** socket is the client's connection, for an upgrade request to answer on and join. */
  get socket(): net.Socket {
    return this.#connection.socket;
  }

  /**
   * writeHead starts the response. `headers` is a flat `[name, value, …]` list with lowercase
   * names and values a machine or the config may send (checked where they came from); the body
   * is framed by its content-length, else chunked (HTTP/1.1) or by closing (HTTP/1.0).
   */
  writeHead(status: number, headers: readonly string[]): void {
    if (this.headersSent) throw new Error('the response head was already written');
    this.headersSent = true;
    let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
    let length = false;
    let date = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (name === 'content-length') length = true;
      else if (name === 'date') date = true;
      text += `${name}: ${headers[i + 1]}\r\n`;
    }
    if (!date) text += `date: ${this.#connection.server.date}\r\n`;
    const body = this.body;
    if (this.#connection.server.closing) this.keepAlive = false;
    // A request body not read to its end leaves the connection out of step: close after this.
    if (body !== null && !body.complete) this.keepAlive = false;
    if (this.head.method === 'HEAD' || status === 204 || status === 304 || status < 200) this.#framing = NO_BODY;
    else if (length) this.#framing = LENGTH;
    else if (this.head.minor === 1) {
      this.#framing = CHUNKED;
      text += 'transfer-encoding: chunked\r\n';
    } else {
      this.#framing = UNTIL_CLOSE;
      this.keepAlive = false;
    }
    if (!this.keepAlive) text += 'connection: close\r\n';
    else if (this.head.minor === 0) text += 'connection: keep-alive\r\n';
    this.#pendingHead = `${text}\r\n`;
  }

  /** write sends a piece of the body; false asks the writer to wait for 'drain'. */
  write(chunk: Buffer): boolean {
    return this.#send(chunk, false);
  }

  /** end ends the response, with its last piece if given. */
  end(last?: Buffer | string): void {
    if (this.finished) return;
    if (!this.headersSent) throw new Error('end before writeHead');
    this.#send(typeof last === 'string' ? Buffer.from(last) : (last ?? null), true);
    this.finished = true;
    this.#connection.finish(this);
  }

  once(event: 'drain', listener: () => void): this {
    this.#connection.socket.once(event, listener);
    return this;
  }

  /** destroy resets the connection: the response cannot be completed. */
  destroy(): void {
    this.#connection.destroy();
  }

  #send(chunk: Buffer | null, last: boolean): boolean {
    const socket = this.#connection.socket;
    const head = this.#pendingHead;
    this.#pendingHead = null;
    const data = this.#framing === NO_BODY || chunk === null || chunk.length === 0 ? null : chunk;
    if (this.#framing === CHUNKED) {
      if (data === null && !last) return head === null ? true : socket.write(head, 'latin1');
      socket.cork();
      let ok = head === null || socket.write(head, 'latin1');
      if (data !== null) {
        socket.write(`${data.length.toString(16)}\r\n`, 'latin1');
        socket.write(data);
        ok = socket.write(CRLF);
      }
      if (last) ok = socket.write(LAST_CHUNK);
      socket.uncork();
      return ok;
    }
    if (head === null) return data === null ? true : socket.write(data);
    if (data === null) return socket.write(head, 'latin1');
    if (data.length > COPY_WITH_HEAD_MAX_BYTES) {
      socket.cork();
      socket.write(head, 'latin1');
      const ok = socket.write(data);
      socket.uncork();
      return ok;
    }
    // Head and body in one write: a small response leaves in one segment.
    const out = Buffer.allocUnsafe(head.length + data.length);
    out.write(head, 0, 'latin1');
    data.copy(out, head.length);
    return socket.write(out);
  }
}
