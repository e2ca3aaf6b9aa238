/**
 * http-test-client is the shared harness of the HttpServer tests (test/downstream/http-server-*.test.ts):
 * `serve` starts a server on 127.0.0.1 port 0 with short timeouts and the small handler `route`, and
 * RawClient sends the exact bytes on one connection and reads whole responses back.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import type { TestContext } from 'node:test';
import type { ClientExchange } from '../../src/downstream/client-exchange.ts';
import { HttpServer, type ClientTimeoutError, type HttpServerOptions } from '../../src/downstream/http-server.ts';
import type { ClientBodyError } from '../../src/downstream/request-body.ts';
import type { BadRequestError } from '../../src/downstream/request-head.ts';

/** OPTIONS are short timeouts, so that the timeout tests finish in well under a second. */
export const OPTIONS: HttpServerOptions = { headTimeoutMs: 200, bodyTimeoutMs: 200, keepAliveMs: 300, lingerMs: 100 };
/** SWEEP_MS is the server's sweep period with OPTIONS (a quarter of the shortest): a timeout may fire this early. */
export const SWEEP_MS = 25;
/** LONG_KEEPALIVE keeps idle connections open far longer than a test runs, so only close() can close them. */
export const LONG_KEEPALIVE: HttpServerOptions = { ...OPTIONS, keepAliveMs: 10_000 };

/** Handler is a route handler as the tests write it: it is also given the Served it runs in. */
export type Handler = (exchange: ClientExchange, served: Served) => void | Promise<void>;

/** Served is a running HttpServer and everything it did, for the test to check. */
export interface Served {
  server: HttpServer;
  port: number;
  /** Every exchange the handler was given, in order. */
  exchanges: ClientExchange[];
  /** Requests the server answered itself. */
  clientErrors: (BadRequestError | ClientTimeoutError)[];
  /** Errors request bodies failed with, as the route handler saw them. */
  bodyErrors: unknown[];
  /** Errors thrown by a handler: the test fails if there are any. */
  failures: unknown[];
}

/** serve starts an HttpServer with `handler` and resets every connection and closes it after the test. */
export async function serve(t: TestContext, handler: Handler = route, options: HttpServerOptions = OPTIONS): Promise<Served> {
  const served: Served = { server: null!, port: 0, exchanges: [], clientErrors: [], bodyErrors: [], failures: [] };
  served.server = new HttpServer(
    (exchange) => {
      served.exchanges.push(exchange);
      Promise.resolve()
        .then(() => handler(exchange, served))
        .catch((error: unknown) => {
          // The client would wait for an answer forever: drop it so that the test fails now.
          served.failures.push(error);
          t.diagnostic(`the handler failed: ${(error as Error).stack ?? String(error)}`);
          exchange.destroy();
        });
    },
    options,
    (error, remoteAddress) => {
      assert.equal(remoteAddress, '127.0.0.1');
      served.clientErrors.push(error);
    },
  );
  t.after(async () => {
    const closed = served.server.close();
    served.server.destroyConnections();
    await closed;
    assert.deepEqual(served.failures, []);
  });
  served.port = await served.server.listen(0, '127.0.0.1');
  return served;
}

/** urls are the targets the handler was given, in order, without the settle requests. */
export function urls(served: Served): string[] {
  return served.exchanges.map((exchange) => exchange.head.url).filter((url) => url !== '/settle');
}

/** answer writes a whole response with a content-length. */
export function answer(exchange: ClientExchange, status: number, body: string | Buffer, fields: string[] = []): void {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  exchange.writeHead(status, [...fields, 'content-length', String(data.length)]);
  exchange.end(data);
}

/** readBody reads an exchange's whole request body (none is empty); it rejects as the body does. */
export async function readBody(exchange: ClientExchange): Promise<Buffer> {
  const parts: Buffer[] = [];
  if (exchange.body !== null) for await (const chunk of exchange.body) parts.push(chunk);
  return Buffer.concat(parts);
}

/** route is the default handler: it answers by path. */
export async function route(exchange: ClientExchange, served: Served): Promise<void> {
  const path = exchange.head.url.split('?')[0];
  switch (path) {
    case '/hello':
      answer(exchange, 200, 'hello', ['content-type', 'text/plain', 'x-handler', 'yes']);
      return;
    case '/settle':
      answer(exchange, 200, 'settled');
      return;
    case '/echo': {
      let body: Buffer;
      try {
        body = await readBody(exchange);
      } catch (error) {
        served.bodyErrors.push(error);
        answer(exchange, 400, `body-error:${(error as ClientBodyError).code}`);
        return;
      }
      answer(exchange, 200, body);
      return;
    }
    case '/stream':
      exchange.writeHead(200, ['content-type', 'text/plain']);
      exchange.write(Buffer.from('abc'));
      exchange.end('def');
      return;
    case '/dated':
      answer(exchange, 200, 'dated', ['date', 'Tue, 01 Jan 2030 00:00:00 GMT']);
      return;
    case '/status/204':
    case '/status/304':
      exchange.writeHead(Number(path.slice(8)), ['x-status', 'yes']);
      exchange.end('never sent');
      return;
    case '/ignore-body':
      answer(exchange, 200, 'ignored');
      return;
    case '/ignore-body-big':
      answer(exchange, 200, bytes(200_000, 7));
      return;
    default:
      answer(exchange, 404, 'not found');
  }
}

/** RawResponse is one response as RawClient read it off the wire. */
export interface RawResponse {
  statusLine: string;
  status: number;
  /** Field names in the order sent. */
  names: string[];
  /** Fields by lowercase name; repeats joined with ", ". */
  headers: Record<string, string>;
  /** The body, as latin1 text. */
  body: string;
}

/** RawClient writes bytes on one connection and reads whole responses back, in order. */
export class RawClient {
  readonly socket: net.Socket;
  text = '';
  closed = false;
  #waiters: (() => void)[] = [];

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1');
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  /** open connects to the server on `port` and destroys the socket after the test. */
  static async open(t: TestContext, port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    t.after(() => void socket.destroy());
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  /** write sends `data`; a string is sent as latin1, one byte a character. */
  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** read resolves with the next whole response (a HEAD response has no body: pass `head`). */
  async read(head = false): Promise<RawResponse> {
    for (;;) {
      const res = this.#parse(head);
      if (res !== null) return res;
      if (this.closed) throw new Error(`connection closed with ${JSON.stringify(this.text.slice(0, 200))} unread`);
      await this.#event();
    }
  }

  /** until resolves once the unread text matches `pattern`. */
  async until(pattern: RegExp): Promise<void> {
    while (!pattern.test(this.text)) {
      if (this.closed) throw new Error(`connection closed without ${pattern}; unread ${JSON.stringify(this.text.slice(0, 200))}`);
      await this.#event();
    }
  }

  /** untilClosed resolves once the connection is closed. */
  async untilClosed(): Promise<void> {
    while (!this.closed) await this.#event();
  }

  #event(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #parse(headOnly: boolean): RawResponse | null {
    const end = this.text.indexOf('\r\n\r\n');
    if (end === -1) return null;
    const [statusLine, ...lines] = this.text.slice(0, end).split('\r\n');
    const status = Number(statusLine.slice(9, 12));
    const names: string[] = [];
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const name = line.slice(0, line.indexOf(':'));
      const value = line.slice(line.indexOf(':') + 1).trim();
      names.push(name);
      const key = name.toLowerCase();
      headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
    }
    let rest = this.text.slice(end + 4);
    let body = '';
    if (headOnly || status < 200 || status === 204 || status === 304) {
      // no body
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const eol = rest.indexOf('\r\n');
        if (eol === -1) return null;
        const size = parseInt(rest.slice(0, eol), 16);
        if (rest.length < eol + 2 + size + 2) return null;
        body += rest.slice(eol + 2, eol + 2 + size);
        rest = rest.slice(eol + 2 + size + 2);
        if (size === 0) break;
      }
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (rest.length < length) return null;
      body = rest.slice(0, length);
      rest = rest.slice(length);
    } else {
      if (!this.closed) return null;
      body = rest;
      rest = '';
    }
    this.text = rest;
    return { statusLine, status, names, headers, body };
  }
}

/**
 * settle makes a request on a fresh connection and waits for its answer: by then the server has
 * read whatever other clients had already sent, so a test can check what it did with it.
 */
export async function settle(t: TestContext, port: number): Promise<void> {
  const client = await RawClient.open(t, port);
  client.write('GET /settle HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal((await client.read()).body, 'settled');
}

/** closed resolves once the server's side of an exchange's connection has closed. */
export async function closed(exchange: ClientExchange): Promise<void> {
  if (!exchange.socket.destroyed) await once(exchange.socket, 'close');
}

/** bytes is `length` bytes of a pattern that differs with `seed`, so that a misplaced byte shows. */
export function bytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** latin1 is `data` as RawClient's text, to compare a body with what was sent. */
export function latin1(data: Buffer): string {
  return data.toString('latin1');
}

/** chunked encodes `parts` as a chunked body, with an extension on every chunk and a trailer. */
export function chunked(parts: Buffer[]): Buffer {
  const out: Buffer[] = [];
  for (const [i, part] of parts.entries()) out.push(Buffer.from(`${part.length.toString(16)};n=${i}\r\n`), part, Buffer.from('\r\n'));
  out.push(Buffer.from('0\r\nX-Trailer: t\r\n\r\n'));
  return Buffer.concat(out);
}

/** writeInPieces writes `data` in pieces of `size` bytes, the first `singles` bytes one at a time. */
export function writeInPieces(client: RawClient, data: Buffer, size: number, singles = 0): void {
  for (let i = 0; i < Math.min(singles, data.length); i++) client.write(data.subarray(i, i + 1));
  for (let i = singles; i < data.length; i += size) client.write(data.subarray(i, i + size));
}
