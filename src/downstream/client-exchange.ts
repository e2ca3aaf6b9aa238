import type net from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { ClientConnection } from './http-server.ts';
import type { RequestBody } from './request-body.ts';
import type { RequestHead } from './request-head.ts';

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
/** COPY_WITH_HEAD_MAX_BYTES is the largest first body piece copied behind the head; a larger one goes beside it (writev). */
const COPY_WITH_HEAD_MAX_BYTES = 16 * 1024;

/** Response framings. */
const NO_BODY = 0;
const LENGTH = 1;
const CHUNKED = 2;
const UNTIL_CLOSE = 3;

/**
 * ClientExchange is one request on a client connection of HttpServer (http-server.ts), as the
 * pipeline sees it: the head, the body, and the response. The response is written with writeHead, then
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
