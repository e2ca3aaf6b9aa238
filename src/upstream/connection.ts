/**
 * Connection is one socket from UpstreamPool to a machine, and Exchange the one request on it at
 * a time, from its head written to its response body's last byte; with the types a caller of
 * the pool gives and gets.
 */
import type net from 'node:net';
import type { ChunkedDecoder } from './chunked-decoder.ts';
import type { ResponseHead } from './response-head.ts';
import type { UpstreamPool } from './upstream-pool.ts';

export interface UpstreamRequest {
  method: string;
  /** Request target: path and query. */
  path: string;
  /** The header lines, `name: value\r\n` each (formatFieldLines), with Host. */
  fields: string;
  /** The body, or null. Sent as is when `fields` has Content-Length, else chunked. */
  body: AsyncIterable<Buffer> | null;
  /** Whether `fields` carries Content-Length for `body`. */
  bodyLength: boolean;
  /** Cancelling ends the exchange and closes its connection (the client went away). */
  cancel: CancelHook | null;
}

/** CancelHook is how a caller cancels an exchange: the pool sets `onCancel` while it runs. */
export interface CancelHook {
  readonly cancelled: boolean;
  onCancel: (() => void) | null;
}

/** BodySink is where a response body goes: the client exchange, or a sink that inspects it. */
export interface BodySink {
  /** write takes a piece of the body; false asks to wait for 'drain'. May throw to stop. */
  write(chunk: Buffer): boolean;
  /** end ends the body, with its last piece when that came with the end (one write, not two). */
  end(last?: Buffer): void;
  once(event: 'drain', listener: () => void): unknown;
}

export type UpstreamErrorCode =
  | 'UPSTREAM_CONNECT_TIMEOUT'
  | 'UPSTREAM_HEADERS_TIMEOUT'
  | 'UPSTREAM_BODY_TIMEOUT'
  | 'UPSTREAM_CLOSED'
  | 'UPSTREAM_ABORTED'
  | 'UPSTREAM_POOL_CLOSED';

/** UpstreamError is a failed exchange; socket errors keep their errno `code` (ECONNREFUSED …). */
export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;
  constructor(code: UpstreamErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export const HEAD_PHASE = 0;
export const BODY_PHASE = 1;
export const DONE_PHASE = 2;

/** Exchange is one request on one connection, from the head written to the body's last byte. */
export class Exchange {
  readonly request: UpstreamRequest;
  readonly onHead: (head: ResponseHead) => BodySink;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;
  connection: Connection | null = null;
  phase = HEAD_PHASE;
  /** Head bytes received so far, while the head is incomplete. */
  pending: Buffer | null = null;
  sink: BodySink | null = null;
  decoder: ChunkedDecoder | null = null;
  /** Body bytes still to come with Content-Length; -1 until the end of the connection. */
  remaining = 0;
  keepAlive = true;
  bodySent: boolean;
  /** A response byte arrived: a failure after it is the machine's, not a stale connection's. */
  answered = false;
  /** Connections this exchange was tried on: a stale reused one is replaced once. */
  attempts = 0;
  /** While the exchange waits for a connection: fails it after connectTimeoutMs. */
  waitTimer: NodeJS.Timeout | null = null;

  constructor(request: UpstreamRequest, onHead: (head: ResponseHead) => BodySink) {
    this.request = request;
    this.onHead = onHead;
    this.bodySent = request.body === null;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * READ_BUFFER is where every upstream socket reads into (net.connect `onread`): a read is handled
 * before the next one starts, so one buffer serves all, and what outlives the read is copied.
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

/** Connection is one socket to the machine and the exchange on it, if any. */
export class Connection {
  readonly pool: UpstreamPool;
  readonly socket: net.Socket;
  exchange: Exchange | null = null;
  connected = false;
  /** Responses completed on this connection: a failure on a reused one may just be staleness. */
  served = 0;
  /** The pool's sweep clock when the current silence of the machine began. */
  since = 0;
  error: Error | null = null;

  constructor(pool: UpstreamPool, connect: (onread: net.OnReadOpts) => net.Socket) {
    this.pool = pool;
    const socket = connect({
      buffer: READ_BUFFER,
      callback: (bytes: number): boolean => {
        this.pool.onData(this, READ_BUFFER.subarray(0, bytes));
        return true;
      },
    });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => this.pool.onConnect(this));
    socket.on('end', () => this.pool.onEnd(this));
    // 'close' always follows 'error'; the error is kept for it.
    socket.on('error', (error: Error) => (this.error ??= error));
    socket.on('close', () => this.pool.onClose(this));
  }
}
