/**
 * UpstreamPool is Ricochet's HTTP/1.1 client for one machine address: keep-alive connections
 * reused newest first (spec §8.2.6), one request per connection at a time, the request head
 * written as one string, every connection reading into one shared buffer (no allocation per
 * read; what outlives a read is copied), the response head parsed once and its body handed to a
 * sink with backpressure. It does only what a proxy hop needs, which is what makes it cheaper per request
 * than a general client (docs/benchmarks.md measures both).
 *
 * Callers give it valid field names and values: client headers were checked by the HTTP server,
 * and a replay's `transform` is checked where it is parsed (src/replay/directive.ts).
 */
import net from 'node:net';
import { ChunkedDecoder } from './chunked-decoder.ts';
import { BadResponseError, findHeadEnd, MAX_RESPONSE_HEAD_BYTES, parseResponseHead, type ResponseHead } from './response-head.ts';
import {
  BODY_PHASE,
  Connection,
  DONE_PHASE,
  Exchange,
  HEAD_PHASE,
  UpstreamError,
  type BodySink,
  type UpstreamRequest,
} from './connection.ts';

/** SWEEP_MIN_MS and SWEEP_MAX_MS bound how often the sweep applies the time limits. */
const SWEEP_MIN_MS = 10;
const SWEEP_MAX_MS = 1000;

export interface UpstreamPoolOptions {
  /** Most connections open at once; more requests wait for one. */
  connections: number;
  connectTimeoutMs: number;
  /** Longest silence before a response head arrives. */
  headersTimeoutMs: number;
  /** Longest silence between two pieces of a response body. */
  bodyIdleTimeoutMs: number;
  /** How long an idle connection is kept. */
  keepAliveMs: number;
}

export class UpstreamPool {
  readonly host: string;
  readonly port: number;
  readonly options: UpstreamPoolOptions;
  /** Every connection open or opening. */
  #connections = new Set<Connection>();
  /** Idle connections, newest last. */
  #idle: Connection[] = [];
  /** Requests waiting for a connection, oldest first. */
  #waiting: Exchange[] = [];
  #active = 0;
  #closing: (() => void) | null = null;
  #closed = false;
  /**
   * One sweep timer applies every connection's time limit, so that no byte read or written
   * re-arms a timer. It runs while the pool has connections.
   */
  #sweeper: NodeJS.Timeout | null = null;
  readonly #sweepMs: number;
  /** A clock the sweep advances: connections note it instead of reading the time. */
  #now = 0;

  constructor(host: string, port: number, options: UpstreamPoolOptions) {
    this.host = host;
    this.port = port;
    this.options = options;
    const shortest = Math.min(options.connectTimeoutMs, options.headersTimeoutMs, options.bodyIdleTimeoutMs, options.keepAliveMs);
    // A limit is kept to within a quarter of itself (the shortest one), and at most a second.
    this.#sweepMs = Math.max(SWEEP_MIN_MS, Math.min(SWEEP_MAX_MS, Math.ceil(shortest / 4)));
  }

  /** busy is the number of exchanges under way or waiting for a connection. */
  get busy(): number {
    return this.#active;
  }

  /**
   * stream sends `request`; when the response head arrives `onHead` says where its body goes.
   * Resolves once the whole body was written to that sink and the sink ended.
   */
  stream(request: UpstreamRequest, onHead: (head: ResponseHead) => BodySink): Promise<void> {
    const exchange = new Exchange(request, onHead);
    if (this.#closed) {
      exchange.reject(new UpstreamError('UPSTREAM_POOL_CLOSED', 'the pool is closed'));
      return exchange.done;
    }
    const cancel = request.cancel;
    if (cancel !== null) {
      if (cancel.cancelled) {
        exchange.reject(new UpstreamError('UPSTREAM_ABORTED', 'the request was cancelled'));
        return exchange.done;
      }
      cancel.onCancel = () => this.#fail(exchange, new UpstreamError('UPSTREAM_ABORTED', 'the request was cancelled'));
    }
    this.#active++;
    this.#assign(exchange);
    return exchange.done;
  }

  /** #assign gives `exchange` an idle connection, a new one, or a place in line. */
  #assign(exchange: Exchange): void {
    let idle = this.#idle.pop();
    // A connection whose end was read is destroyed but stays in #idle until its 'close'.
    while (idle !== undefined && idle.socket.destroyed) idle = this.#idle.pop();
    if (idle !== undefined) {
      this.#begin(idle, exchange);
    } else if (this.#connections.size < this.options.connections) {
      this.#connect(exchange);
    } else {
      // Every connection is busy: wait for one, as long as a connect may take.
      const { connectTimeoutMs } = this.options;
      exchange.waitTimer = setTimeout(() => {
        this.#fail(exchange, new UpstreamError('UPSTREAM_CONNECT_TIMEOUT', `no connection to the machine was free within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      this.#waiting.push(exchange);
    }
  }

  #connect(exchange: Exchange): void {
    if (this.#sweeper === null) {
      this.#now = Date.now();
      this.#sweeper = setInterval(() => this.#sweep(), this.#sweepMs);
      this.#sweeper.unref();
    }
    const connection = new Connection(this, (onread) => net.connect({ port: this.port, host: this.host, onread }));
    connection.since = this.#now;
    this.#connections.add(connection);
    connection.exchange = exchange;
    exchange.connection = connection;
  }

  onConnect(connection: Connection): void {
    connection.connected = true;
    connection.since = this.#now;
    const exchange = connection.exchange;
    if (exchange === null) this.#release(connection);
    else this.#begin(connection, exchange);
  }

  #begin(connection: Connection, exchange: Exchange): void {
    connection.exchange = exchange;
    exchange.connection = connection;
    exchange.attempts++;
    const { socket } = connection;
    if (!connection.connected) return; // onConnect begins it
    connection.since = this.#now;
    const request = exchange.request;
    const chunked = request.body !== null && !request.bodyLength;
    const framing = chunked ? 'transfer-encoding: chunked\r\n\r\n' : '\r\n';
    socket.write(`${request.method} ${request.path} HTTP/1.1\r\n${request.fields}${framing}`, 'latin1');
    if (request.body !== null) void this.#sendBody(connection, exchange, request.body, chunked);
  }

  async #sendBody(connection: Connection, exchange: Exchange, body: AsyncIterable<Buffer>, chunked: boolean): Promise<void> {
    const { socket } = connection;
    try {
      // The machine may answer before the body is all sent (an early 413): sending goes on,
      // and the connection is reused only once the body is out.
      for await (const chunk of body) {
        if (exchange.connection !== connection) return;
        if (chunk.length === 0) continue;
        let flushed: boolean;
        if (chunked) {
          socket.cork();
          socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
          socket.write(chunk);
          flushed = socket.write('\r\n', 'latin1');
          socket.uncork();
        } else {
          flushed = socket.write(chunk);
        }
        if (!flushed && !(await drained(socket))) return;
        // The machine is taking the body: its answer is not late yet.
        connection.since = this.#now;
      }
      if (exchange.connection !== connection) return;
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      exchange.bodySent = true;
      if (exchange.phase === DONE_PHASE) this.#release(connection);
    } catch (error) {
      if (exchange.connection !== connection) return;
      // The body failed after the answer came: the answer stands, the connection cannot be reused.
      if (exchange.phase === DONE_PHASE) this.#drop(connection);
      else this.#fail(exchange, error);
    }
  }

  onData(connection: Connection, chunk: Buffer): void {
    const exchange = connection.exchange;
    if (exchange === null || exchange.phase === DONE_PHASE) {
      // Bytes nobody asked for: the connection is out of step; never reuse it.
      connection.socket.destroy();
      return;
    }
    exchange.answered = true;
    connection.since = this.#now;
    try {
      if (exchange.phase === HEAD_PHASE) this.#readHead(connection, exchange, chunk);
      else this.#readBody(connection, exchange, chunk);
    } catch (error) {
      this.#fail(exchange, error);
    }
  }

  #readHead(connection: Connection, exchange: Exchange, chunk: Buffer): void {
    let buf = exchange.pending === null ? chunk : Buffer.concat([exchange.pending, chunk]);
    for (;;) {
      const end = findHeadEnd(buf);
      if (end === -1) {
        if (buf.length > MAX_RESPONSE_HEAD_BYTES) throw new BadResponseError(`response head over ${MAX_RESPONSE_HEAD_BYTES} bytes`);
        // `buf` may be part of the shared read buffer (READ_BUFFER): what is kept is copied.
        exchange.pending = Buffer.from(buf);
        return;
      }
      if (end > MAX_RESPONSE_HEAD_BYTES) throw new BadResponseError(`response head over ${MAX_RESPONSE_HEAD_BYTES} bytes`);
      const head = parseResponseHead(buf.toString('latin1', 0, end - 4));
      buf = buf.subarray(end);
      if (head.status === 101) throw new BadResponseError('101 Switching Protocols to a request that asked for no upgrade');
      // 1xx interim responses are dropped; the final one follows (RFC 9110 §15.2).
      if (head.status < 200) continue;
      exchange.pending = null;
      const bodiless = exchange.request.method === 'HEAD' || head.status === 204 || head.status === 304;
      exchange.keepAlive = head.keepAlive;
      if (bodiless) exchange.remaining = 0;
      else if (head.chunked) exchange.decoder = new ChunkedDecoder();
      else if (head.contentLength !== null) exchange.remaining = head.contentLength;
      else {
        // Delimited by the connection's end (RFC 9112 §6.3, rule 8).
        exchange.remaining = -1;
        exchange.keepAlive = false;
      }
      exchange.phase = BODY_PHASE;
      exchange.sink = exchange.onHead(head);
      // onHead may have cancelled the exchange.
      if (exchange.connection !== connection) return;
      if (buf.length > 0 || (exchange.decoder === null && exchange.remaining === 0)) this.#readBody(connection, exchange, buf);
      return;
    }
  }

  /** #readBody hands the body on; `chunk` is read into READ_BUFFER, so the pieces handed on are copies. */
  #readBody(connection: Connection, exchange: Exchange, chunk: Buffer): void {
    const sink = exchange.sink!;
    let fits = true;
    let extra = false;
    if (exchange.decoder !== null) {
      const used = exchange.decoder.push(chunk, (data) => {
        if (!sink.write(Buffer.from(data))) fits = false;
      });
      extra = used < chunk.length;
      // A write may have cancelled the exchange.
      if (exchange.connection !== connection) return;
      if (exchange.decoder.done) return this.#finish(connection, exchange, extra);
    } else if (exchange.remaining === -1) {
      if (chunk.length > 0 && !sink.write(Buffer.from(chunk))) fits = false;
      if (exchange.connection !== connection) return;
    } else {
      const take = Math.min(exchange.remaining, chunk.length);
      extra = take < chunk.length;
      const piece = take === chunk.length ? chunk : chunk.subarray(0, take);
      exchange.remaining -= take;
      // The body's last piece goes with its end: a small response is one write to the client.
      if (exchange.remaining === 0) return this.#finish(connection, exchange, extra, take > 0 ? Buffer.from(piece) : undefined);
      if (take > 0 && !sink.write(Buffer.from(piece))) fits = false;
      if (exchange.connection !== connection) return;
    }
    if (!fits) {
      const { socket } = connection;
      socket.pause();
      sink.once('drain', () => {
        if (connection.exchange === exchange) socket.resume();
      });
    }
  }

  #finish(connection: Connection, exchange: Exchange, extra: boolean, last?: Buffer): void {
    exchange.phase = DONE_PHASE;
    this.#settle(exchange);
    connection.served++;
    let ended = true;
    try {
      exchange.sink!.end(last);
      exchange.resolve();
    } catch (error) {
      exchange.reject(error);
      ended = false;
    }
    if (!ended || extra || !exchange.keepAlive) {
      this.#drop(connection);
    } else if (exchange.bodySent) {
      this.#release(connection);
    }
    // Otherwise #sendBody releases the connection once the body is out.
  }

  /** #settle ends the bookkeeping of an exchange that finished or failed. */
  #settle(exchange: Exchange): void {
    this.#active--;
    const cancel = exchange.request.cancel;
    if (cancel !== null) cancel.onCancel = null;
    if (this.#active === 0 && this.#closing !== null) this.#closing();
  }

  #fail(exchange: Exchange, error: unknown): void {
    if (exchange.phase === DONE_PHASE) return;
    exchange.phase = DONE_PHASE;
    const connection = exchange.connection;
    const waiting = this.#waiting.indexOf(exchange);
    if (waiting !== -1) this.#waiting.splice(waiting, 1);
    if (exchange.waitTimer !== null) clearTimeout(exchange.waitTimer);
    this.#settle(exchange);
    exchange.reject(error);
    if (connection !== null) this.#drop(connection);
  }

  /** #dequeue takes the oldest request waiting for a connection out of line. */
  #dequeue(): Exchange | undefined {
    const next = this.#waiting.shift();
    if (next !== undefined && next.waitTimer !== null) {
      clearTimeout(next.waitTimer);
      next.waitTimer = null;
    }
    return next;
  }

  /** #release makes a connection idle, or hands it to the oldest waiting request. */
  #release(connection: Connection): void {
    const previous = connection.exchange;
    if (previous !== null) previous.connection = null;
    connection.exchange = null;
    if (connection.socket.destroyed) return;
    // Requests already in line are served even while the pool closes.
    const next = this.#dequeue();
    if (next !== undefined) {
      this.#begin(connection, next);
      return;
    }
    if (this.#closed) {
      connection.socket.destroy();
      return;
    }
    connection.since = this.#now;
    this.#idle.push(connection);
  }

  #sweep(): void {
    this.#now = Date.now();
    for (const connection of this.#connections) this.#expire(connection);
  }

  /**
   * #expire holds a connection's silence against the limit of its phase: connecting, waiting for
   * the response head, between body pieces, or idle (keep-alive). Bytes from the machine, body
   * bytes it takes, and phase changes restart the count.
   */
  #expire(connection: Connection): void {
    const exchange = connection.exchange;
    const silentMs = this.#now - connection.since;
    const { connectTimeoutMs, headersTimeoutMs, bodyIdleTimeoutMs, keepAliveMs } = this.options;
    if (!connection.connected) {
      if (silentMs < connectTimeoutMs) return;
      const timeout = new UpstreamError('UPSTREAM_CONNECT_TIMEOUT', `connecting took over ${connectTimeoutMs} ms`);
      if (exchange === null) connection.socket.destroy();
      else this.#fail(exchange, timeout);
      return;
    }
    const limit = exchange === null ? keepAliveMs : exchange.phase === HEAD_PHASE ? headersTimeoutMs : bodyIdleTimeoutMs;
    if (silentMs < limit) return;
    if (exchange === null || exchange.phase === DONE_PHASE) {
      // Idle past keep-alive, or a body still going out after its answer stalled.
      connection.socket.destroy();
      return;
    }
    const [code, what] =
      exchange.phase === HEAD_PHASE
        ? (['UPSTREAM_HEADERS_TIMEOUT', `no response head within ${headersTimeoutMs} ms`] as const)
        : (['UPSTREAM_BODY_TIMEOUT', `the response body stalled for ${bodyIdleTimeoutMs} ms`] as const);
    this.#fail(exchange, new UpstreamError(code, what));
  }

  onEnd(connection: Connection): void {
    const exchange = connection.exchange;
    // A body delimited by the connection's end is complete now.
    if (exchange !== null && exchange.phase === BODY_PHASE && exchange.remaining === -1 && exchange.decoder === null) {
      this.#finish(connection, exchange, false);
    }
    connection.socket.destroy();
  }

  onClose(connection: Connection): void {
    this.#connections.delete(connection);
    if (this.#connections.size === 0) this.#stopSweep();
    const at = this.#idle.indexOf(connection);
    if (at !== -1) this.#idle.splice(at, 1);
    const exchange = connection.exchange;
    if (exchange !== null) {
      connection.exchange = null;
      exchange.connection = null;
      if (exchange.phase !== DONE_PHASE) this.#closedUnder(connection, exchange);
    }
    // A request in line may now open a connection of its own.
    if (this.#waiting.length > 0 && this.#connections.size < this.options.connections) {
      this.#connect(this.#dequeue()!);
    }
  }

  /** #closedUnder ends an exchange whose connection closed before its response was complete. */
  #closedUnder(connection: Connection, exchange: Exchange): void {
    // A reused connection the machine closed as the request went out: try once on a new one,
    // when there is no body that may have been half sent.
    if (connection.served > 0 && !exchange.answered && exchange.request.body === null && exchange.attempts === 1 && !this.#closed) {
      this.#connect(exchange);
      return;
    }
    this.#fail(exchange, connection.error ?? new UpstreamError('UPSTREAM_CLOSED', 'the machine closed the connection before the response was complete'));
  }

  /** #drop closes a connection that cannot carry another request. */
  #drop(connection: Connection): void {
    const exchange = connection.exchange;
    if (exchange !== null) exchange.connection = null;
    connection.exchange = null;
    connection.socket.destroy();
  }

  /** close stops new requests, closes idle connections, and resolves once exchanges under way end. */
  close(): Promise<void> {
    this.#closed = true;
    for (const connection of this.#idle.splice(0)) connection.socket.destroy();
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#closing = resolve));
  }

  /** destroy ends every exchange and connection now. */
  destroy(): Promise<void> {
    const closed = this.close();
    for (const exchange of this.#waiting.splice(0)) this.#fail(exchange, new UpstreamError('UPSTREAM_POOL_CLOSED', 'the pool was destroyed'));
    for (const connection of this.#connections) connection.socket.destroy();
    return closed;
  }

  #stopSweep(): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }
}

/** drained waits for `socket` to take more writes; false if it closed instead. */
function drained(socket: net.Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => {
      socket.off('close', onClose);
      resolve(true);
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      resolve(false);
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}
