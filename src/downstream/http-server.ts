/**
 * HttpServer is Ricochet's HTTP/1.1 server for public listeners, on `node:net`: it reads request
 * heads with parseRequestHead, streams request bodies, and writes responses itself. It replaces
 * node:http's server and ServerResponse on the data plane, which cost a proxy about as much CPU
 * as everything else it does (docs/benchmarks.md, "The leaner path, taken").
 *
 * One exchange (a request and its response) runs at a time on a connection. A pipelined request
 * waits, unread and with the client paused, until the response before it has been written (RFC
 * 9112 §9.3.2). Every wait is bounded by one sweep timer per server: the head of a request
 * (slowloris), a request body that stops arriving, an idle keep-alive connection, and a closing
 * connection that keeps sending.
 */
import net from 'node:net';
import { STATUS_CODES } from 'node:http';
import { ClientExchange } from './client-exchange.ts';
import { BadRequestError, MAX_REQUEST_HEAD_BYTES, parseRequestHead, type RequestHead } from './request-head.ts';
import { ClientBodyError, RequestBody } from './request-body.ts';

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

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

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
export class ClientConnection {
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
