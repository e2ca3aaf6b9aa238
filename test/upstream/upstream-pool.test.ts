import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { headerValue, MAX_RESPONSE_HEAD_BYTES, type ResponseHead } from '../../src/upstream/response-head.ts';
import type { BodySink, CancelHook, UpstreamRequest } from '../../src/upstream/connection.ts';
import { UpstreamPool, type UpstreamPoolOptions } from '../../src/upstream/upstream-pool.ts';
import { formatFieldLines } from '../../src/http1/fields.ts';

/** GENEROUS_MS is a timeout no test means to reach (the lead benchmarks on this machine meanwhile). */
const GENEROUS_MS = 20_000;
/** SHORT_MS is a timeout a test waits out on purpose. */
const SHORT_MS = 80;

/** Inbox hands over items in arrival order to whoever awaits next(). */
class Inbox<T> {
  #items: T[] = [];
  #takers: ((item: T) => void)[] = [];

  push(item: T): void {
    const taker = this.#takers.shift();
    if (taker === undefined) this.#items.push(item);
    else taker(item);
  }

  next(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    return new Promise((resolve) => this.#takers.push(resolve));
  }
}

/** Cancel is the caller's side of a CancelHook, as the proxy's Cancellation. */
class Cancel implements CancelHook {
  cancelled = false;
  onCancel: (() => void) | null = null;

  static already(): Cancel {
    const cancel = new Cancel();
    cancel.cancelled = true;
    return cancel;
  }

  cancel(): void {
    this.cancelled = true;
    this.onCancel?.();
  }
}

/** CollectSink keeps a response body; `accept` decides what write() returns, or throws. */
class CollectSink extends EventEmitter implements BodySink {
  chunks: Buffer[] = [];
  ended = false;
  accept: (chunk: Buffer) => boolean = () => true;

  write(chunk: Buffer): boolean {
    assert.equal(this.ended, false, 'no write after end');
    assert.ok(chunk.length > 0, 'no empty write');
    this.chunks.push(Buffer.from(chunk));
    const result = this.accept(chunk);
    this.emit('written', chunk);
    return result;
  }

  end(last?: Buffer): void {
    if (last !== undefined) this.write(last);
    this.ended = true;
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

interface Received {
  head: ResponseHead;
  body: string;
}

function request(overrides: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return { method: 'GET', path: '/', fields: formatFieldLines(['host', 'machine.test']), body: null, bodyLength: false, cancel: null, ...overrides };
}

/** send streams one request into `sink` and checks the head came once and the sink was ended. */
async function send(pool: UpstreamPool, overrides: Partial<UpstreamRequest> = {}, sink = new CollectSink()): Promise<Received> {
  const seen: { head?: ResponseHead } = {};
  await pool.stream(request(overrides), (head) => {
    assert.equal(seen.head, undefined, 'onHead is called once');
    seen.head = head;
    return sink;
  });
  assert.ok(seen.head !== undefined);
  assert.equal(sink.ended, true);
  return { head: seen.head, body: sink.text };
}

function makePool(t: TestContext, port: number, options: Partial<UpstreamPoolOptions> = {}): UpstreamPool {
  const pool = new UpstreamPool('127.0.0.1', port, {
    connections: 4,
    connectTimeoutMs: GENEROUS_MS,
    headersTimeoutMs: GENEROUS_MS,
    bodyIdleTimeoutMs: GENEROUS_MS,
    keepAliveMs: GENEROUS_MS,
    ...options,
  });
  t.after(() => pool.destroy());
  return pool;
}

interface Machine {
  port: number;
  /** Server-side sockets in the order the pool opened them. */
  sockets: net.Socket[];
}

interface Held {
  req: http.IncomingMessage;
  res: http.ServerResponse;
}

/** httpMachine is a node:http server; without a handler every request is held in `held`. */
async function httpMachine(t: TestContext, handler?: http.RequestListener): Promise<Machine & { held: Inbox<Held> }> {
  const held = new Inbox<Held>();
  const server = http.createServer(handler ?? ((req, res) => held.push({ req, res })));
  server.keepAliveTimeout = GENEROUS_MS;
  const sockets: net.Socket[] = [];
  server.on('connection', (socket: net.Socket) => sockets.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, sockets, held };
}

/** rawMachine is a net server that answers in bytes: `onConnection` gets each socket and its index. */
async function rawMachine(t: TestContext, onConnection: (socket: net.Socket, index: number) => void): Promise<Machine> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    // The pool resets connections it gives up on.
    socket.on('error', () => {});
    sockets.push(socket);
    onConnection(socket, sockets.length - 1);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, sockets };
}

/** readRequests calls `onRequest` with each request on `socket`: its head (no blank line) and Content-Length body. */
function readRequests(socket: net.Socket, onRequest: (head: string, body: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.toString('latin1', 0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      const body = buf.subarray(end + 4, end + 4 + length);
      buf = buf.subarray(end + 4 + length);
      onRequest(head, body);
    }
  });
}

/** answering is a raw machine's connection handler that gives each request `respond(requestLine, index)`. */
function answering(respond: (line: string, connection: number, socket: net.Socket) => string | null) {
  return (socket: net.Socket, index: number) =>
    readRequests(socket, (head) => {
      const reply = respond(head.slice(0, head.indexOf('\r\n')), index, socket);
      if (reply !== null) socket.write(reply, 'latin1');
    });
}

function ok(body: string, extra = ''): string {
  return `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;
}

async function* chunksOf(...pieces: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) yield typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece;
}

async function closed(socket: net.Socket): Promise<void> {
  if (!socket.closed) await once(socket, 'close');
}

test('UpstreamPool sends requests one after another over one keep-alive connection', async (t) => {
  const seen: string[] = [];
  const machine = await httpMachine(t, (req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.host} ${req.headers['x-test']}`);
    res.setHeader('x-reply', 'yes');
    res.end(`hello ${req.url}`);
  });
  const pool = makePool(t, machine.port);
  for (const path of ['/a', '/b?q=1', '/c']) {
    const { head, body } = await send(pool, { path, fields: formatFieldLines(['host', 'machine.test', 'x-test', path]) });
    assert.equal(head.status, 200);
    assert.equal(headerValue(head.headers, 'x-reply'), 'yes');
    assert.equal(head.keepAlive, true);
    assert.equal(body, `hello ${path}`);
  }
  assert.deepEqual(seen, ['GET /a machine.test /a', 'GET /b?q=1 machine.test /b?q=1', 'GET /c machine.test /c']);
  assert.equal(machine.sockets.length, 1);
  assert.equal(pool.busy, 0);
});

test('UpstreamPool reuses the connection that became idle last', async (t) => {
  const machine = await httpMachine(t);
  const pool = makePool(t, machine.port);
  const a = send(pool, { path: '/a' });
  const b = send(pool, { path: '/b' });
  const arrived = new Map<string, Held>();
  for (let i = 0; i < 2; i++) {
    const held = await machine.held.next();
    arrived.set(held.req.url!, held);
  }
  assert.equal(machine.sockets.length, 2);
  arrived.get('/a')!.res.end('a');
  await a;
  arrived.get('/b')!.res.end('b');
  await b;
  const c = send(pool, { path: '/c' });
  const third = await machine.held.next();
  assert.equal(third.req.socket, arrived.get('/b')!.req.socket);
  third.res.end('c');
  assert.equal((await c).body, 'c');
  assert.equal(machine.sockets.length, 2);
});

test('UpstreamPool opens at most `connections` connections and serves waiting requests oldest first', async (t) => {
  const machine = await httpMachine(t);
  const pool = makePool(t, machine.port, { connections: 2 });
  const all = [0, 1, 2, 3, 4].map((i) => send(pool, { path: `/${i}` }));
  const open = [await machine.held.next(), await machine.held.next()];
  assert.deepEqual(open.map((h) => h.req.url).sort(), ['/0', '/1']);
  assert.equal(pool.busy, 5);
  for (const expected of ['/2', '/3', '/4']) {
    const answered = open.shift()!;
    answered.res.end('done');
    const next = await machine.held.next();
    assert.equal(next.req.url, expected);
    assert.equal(next.req.socket, answered.req.socket);
    open.push(next);
  }
  for (const held of open) held.res.end('done');
  for (const received of await Promise.all(all)) assert.equal(received.body, 'done');
  assert.equal(machine.sockets.length, 2);
  assert.equal(pool.busy, 0);
});

test('UpstreamPool reads a chunked response body and then reuses the connection', async (t) => {
  const big = Buffer.alloc(200_000, 'x');
  const machine = await httpMachine(t, (req, res) => {
    res.write('one,');
    res.write(big);
    res.end(',end');
  });
  const pool = makePool(t, machine.port);
  const first = await send(pool);
  assert.equal(first.head.chunked, true);
  assert.equal(first.head.contentLength, null);
  assert.equal(first.body, `one,${big.toString('latin1')},end`);
  assert.equal((await send(pool)).body.length, first.body.length);
  assert.equal(machine.sockets.length, 1);
});

test('UpstreamPool reads chunk extensions and trailers off a chunked body sent in pieces', async (t) => {
  const message = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nx-trailer: 1\r\n\r\n';
  const machine = await rawMachine(
    t,
    answering((line, connection, socket) => {
      // Three writes that cut the chunk-size line, the data and the trailer.
      socket.write(message.slice(0, 49), 'latin1');
      socket.write(message.slice(49, 55), 'latin1');
      socket.write(message.slice(55), 'latin1');
      return null;
    }),
  );
  const pool = makePool(t, machine.port);
  assert.equal((await send(pool)).body, 'abcde');
  assert.equal((await send(pool)).body, 'abcde');
  assert.equal(machine.sockets.length, 1);
});

test('UpstreamPool reads a body delimited by the end of the connection and opens a new one next', async (t) => {
  const machine = await rawMachine(
    t,
    answering((line, connection, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart one, ');
      socket.end('part two');
      return null;
    }),
  );
  const pool = makePool(t, machine.port);
  const first = await send(pool);
  assert.equal(first.head.contentLength, null);
  assert.equal(first.head.chunked, false);
  assert.equal(first.body, 'part one, part two');
  assert.equal((await send(pool)).body, 'part one, part two');
  assert.equal(machine.sockets.length, 2);
});

test('UpstreamPool closes an HTTP/1.0 connection after its response unless it says keep-alive', async (t) => {
  const machine = await rawMachine(
    t,
    answering((line) =>
      line.startsWith('GET /keep ')
        ? 'HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 4\r\n\r\nkept'
        : 'HTTP/1.0 200 OK\r\ncontent-length: 4\r\n\r\nonce',
    ),
  );
  const pool = makePool(t, machine.port);
  assert.equal((await send(pool, { path: '/keep' })).body, 'kept');
  assert.equal((await send(pool, { path: '/keep' })).body, 'kept');
  assert.equal(machine.sockets.length, 1);
  const once10 = await send(pool, { path: '/once' });
  assert.equal(once10.body, 'once');
  assert.equal(once10.head.keepAlive, false);
  await closed(machine.sockets[0]);
  assert.equal((await send(pool, { path: '/keep' })).body, 'kept');
  assert.equal(machine.sockets.length, 2);
});

test('UpstreamPool skips 1xx interim responses from node:http and hands over the final one', async (t) => {
  const machine = await httpMachine(t, (req, res) => {
    res.writeContinue();
    res.writeProcessing();
    res.writeEarlyHints({ link: '</style.css>; rel=preload' });
    res.end('final');
  });
  const pool = makePool(t, machine.port);
  const received = await send(pool);
  assert.equal(received.head.status, 200);
  assert.equal(headerValue(received.head.headers, 'link'), undefined);
  assert.equal(received.body, 'final');
  assert.equal((await send(pool)).body, 'final');
  assert.equal(machine.sockets.length, 1);
});

test('UpstreamPool skips 1xx responses that arrive in one piece with the final response', async (t) => {
  const machine = await rawMachine(
    t,
    answering(() => `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n${ok('done')}`),
  );
  const pool = makePool(t, machine.port);
  const received = await send(pool);
  assert.equal(received.head.status, 200);
  assert.equal(received.body, 'done');
  assert.equal((await send(pool)).body, 'done');
  assert.equal(machine.sockets.length, 1);
});

test('UpstreamPool refuses a 101 response to a request that asked for no upgrade', async (t) => {
  const machine = await rawMachine(t, answering(() => 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n'));
  const pool = makePool(t, machine.port);
  await assert.rejects(send(pool), { code: 'UPSTREAM_BAD_RESPONSE' });
  await closed(machine.sockets[0]);
});

test('UpstreamPool reads no body after HEAD, 204 and 304, whatever their length fields say', async (t) => {
  const machine = await rawMachine(
    t,
    answering((line) => {
      if (line.startsWith('HEAD ')) return 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n';
      if (line.startsWith('GET /204 ')) return 'HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n';
      if (line.startsWith('GET /304 ')) return 'HTTP/1.1 304 Not Modified\r\ntransfer-encoding: chunked\r\n\r\n';
      return ok('after');
    }),
  );
  const pool = makePool(t, machine.port);
  const head = await send(pool, { method: 'HEAD' });
  assert.equal(head.head.contentLength, 5);
  assert.equal(head.body, '');
  assert.equal((await send(pool, { path: '/204' })).body, '');
  assert.equal((await send(pool, { path: '/304' })).body, '');
  assert.equal((await send(pool, { path: '/after' })).body, 'after');
  assert.equal(machine.sockets.length, 1);
});

test('UpstreamPool closes a connection that sent bytes past the end of its response', async (t) => {
  const machine = await rawMachine(
    t,
    answering((line, connection) => {
      if (connection === 0) return `${ok('ok')}EXTRA`;
      if (connection === 1) return 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n';
      return ok('clean');
    }),
  );
  const pool = makePool(t, machine.port);
  assert.equal((await send(pool)).body, 'ok');
  await closed(machine.sockets[0]);
  assert.equal((await send(pool)).body, 'ok');
  await closed(machine.sockets[1]);
  assert.equal((await send(pool)).body, 'clean');
  assert.equal(machine.sockets.length, 3);
});

test('UpstreamPool closes an idle connection on which the machine sends bytes nobody asked for', async (t) => {
  const machine = await rawMachine(t, answering(() => ok('ok')));
  const pool = makePool(t, machine.port);
  assert.equal((await send(pool)).body, 'ok');
  machine.sockets[0].write(ok('unasked'));
  await closed(machine.sockets[0]);
  assert.equal((await send(pool)).body, 'ok');
  assert.equal(machine.sockets.length, 2);
});

test('UpstreamPool closes the connection after a response with Connection: close', async (t) => {
  const machine = await rawMachine(t, answering(() => ok('bye', 'connection: close\r\n')));
  const pool = makePool(t, machine.port);
  const received = await send(pool);
  assert.equal(received.head.keepAlive, false);
  assert.equal(received.body, 'bye');
  // The machine keeps its end open: the pool is the one that closes it.
  await closed(machine.sockets[0]);
  await send(pool);
  assert.equal(machine.sockets.length, 2);
});

test('UpstreamPool closes an idle connection after keepAliveMs', async (t) => {
  const machine = await rawMachine(t, answering(() => ok('ok')));
  const pool = makePool(t, machine.port, { keepAliveMs: SHORT_MS });
  await send(pool);
  await closed(machine.sockets[0]);
  await send(pool);
  assert.equal(machine.sockets.length, 2);
});

/** echoMachine answers each request with what it received: its framing fields and its body. */
async function echoMachine(t: TestContext) {
  return httpMachine(t, async (req, res) => {
    const parts: Buffer[] = [];
    for await (const chunk of req) parts.push(chunk as Buffer);
    res.setHeader('x-content-length', String(req.headers['content-length']));
    res.setHeader('x-transfer-encoding', String(req.headers['transfer-encoding']));
    res.end(Buffer.concat(parts));
  });
}

test('UpstreamPool sends a body with Content-Length as is', async (t) => {
  const machine = await echoMachine(t);
  const pool = makePool(t, machine.port);
  const pieces = [Buffer.from([0, 1, 2, 255, 13, 10]), Buffer.alloc(0), ...Array.from({ length: 16 }, (_, i) => Buffer.alloc(65_536, i))];
  const total = Buffer.concat(pieces);
  const received = await send(pool, {
    method: 'POST',
    fields: formatFieldLines(['host', 'machine.test', 'content-length', String(total.length)]),
    body: chunksOf(...pieces),
    bodyLength: true,
  });
  assert.equal(headerValue(received.head.headers, 'x-content-length'), String(total.length));
  assert.equal(headerValue(received.head.headers, 'x-transfer-encoding'), 'undefined');
  assert.ok(Buffer.from(received.body, 'latin1').equals(total));
  assert.equal((await send(pool)).body, '');
  assert.equal(machine.sockets.length, 1);
});

test('UpstreamPool sends a body without Content-Length chunked, and the machine reads the same bytes', async (t) => {
  const machine = await echoMachine(t);
  const pool = makePool(t, machine.port);
  const pieces = ['first ', '', '0\r\n\r\n', Buffer.alloc(100_000, 'z'), 'last'];
  const received = await send(pool, { method: 'PUT', body: chunksOf(...pieces), bodyLength: false });
  assert.equal(headerValue(received.head.headers, 'x-transfer-encoding'), 'chunked');
  assert.equal(headerValue(received.head.headers, 'x-content-length'), 'undefined');
  assert.equal(received.body, `first 0\r\n\r\n${'z'.repeat(100_000)}last`);
  const empty = await send(pool, { method: 'POST', body: chunksOf(), bodyLength: false });
  assert.equal(headerValue(empty.head.headers, 'x-transfer-encoding'), 'chunked');
  assert.equal(empty.body, '');
  assert.equal(machine.sockets.length, 1);
});

/** earlyMachine answers 413 as soon as a request head arrives, then reads the body anyway. */
async function earlyMachine(t: TestContext, requests: Inbox<{ head: string; body: string }>) {
  return rawMachine(t, (socket) => {
    let answered = false;
    socket.on('data', () => {
      if (answered) return;
      answered = true;
      socket.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 4\r\n\r\nbig!');
    });
    readRequests(socket, (head, body) => {
      requests.push({ head: head.slice(0, head.indexOf('\r\n')), body: body.toString('latin1') });
      if (!head.startsWith('POST ')) socket.write(ok('next'));
    });
  });
}

test('UpstreamPool hands over an early response while the body is still being sent, then reuses the connection', async (t) => {
  const requests = new Inbox<{ head: string; body: string }>();
  const machine = await earlyMachine(t, requests);
  const pool = makePool(t, machine.port);
  const gate = Promise.withResolvers<void>();
  async function* body() {
    yield Buffer.from('first-');
    await gate.promise;
    yield Buffer.from('second');
  }
  const early = await send(pool, {
    method: 'POST',
    fields: formatFieldLines(['host', 'machine.test', 'content-length', '12']),
    body: body(),
    bodyLength: true,
  });
  assert.equal(early.head.status, 413);
  assert.equal(early.body, 'big!');
  gate.resolve();
  assert.deepEqual(await requests.next(), { head: 'POST / HTTP/1.1', body: 'first-second' });
  assert.equal((await send(pool, { path: '/next' })).body, 'next');
  assert.deepEqual(await requests.next(), { head: 'GET /next HTTP/1.1', body: '' });
  assert.equal(machine.sockets.length, 1);
});

test('UpstreamPool closes the connection when the body fails after an early response', { timeout: 3_000 }, async (t) => {
  // Without the close the connection holds a slot until bodyIdleTimeoutMs: the test times out instead.
  const requests = new Inbox<{ head: string; body: string }>();
  const machine = await earlyMachine(t, requests);
  const pool = makePool(t, machine.port, { bodyIdleTimeoutMs: 60_000 });
  const gate = Promise.withResolvers<void>();
  async function* body() {
    yield Buffer.from('first-');
    await gate.promise;
    throw Object.assign(new Error('the client went away'), { code: 'CLIENT_GONE' });
  }
  const early = await send(pool, {
    method: 'POST',
    fields: formatFieldLines(['host', 'machine.test', 'content-length', '12']),
    body: body(),
    bodyLength: true,
  });
  assert.equal(early.head.status, 413);
  gate.resolve();
  await closed(machine.sockets[0]);
});

/** staleMachine closes connection 0 when its second request arrives, as if it had timed it out. */
async function staleMachine(t: TestContext, close: (socket: net.Socket) => void, requests: string[][] = []) {
  return rawMachine(t, (socket, index) => {
    const seen: string[] = (requests[index] = []);
    readRequests(socket, (head) => {
      seen.push(head.slice(0, head.indexOf(' HTTP/1.1')));
      if (index === 0 && seen.length === 2) close(socket);
      else socket.write(ok(`${index}`));
    });
  });
}

test('UpstreamPool retries a bodiless request once on a new connection when a reused one was closed', async (t) => {
  for (const [how, close] of [
    ['FIN', (socket: net.Socket) => socket.end()],
    ['RST', (socket: net.Socket) => socket.resetAndDestroy()],
  ] as const) {
    const requests: string[][] = [];
    const machine = await staleMachine(t, close, requests);
    const pool = makePool(t, machine.port);
    assert.equal((await send(pool, { path: '/first' })).body, '0', how);
    assert.equal((await send(pool, { path: '/second' })).body, '1', how);
    assert.deepEqual(requests, [['GET /first', 'GET /second'], ['GET /second']], how);
  }
});

test('UpstreamPool does not retry a request with a body on a reused connection the machine closed', async (t) => {
  const requests: string[][] = [];
  const machine = await staleMachine(t, (socket) => socket.end(), requests);
  const pool = makePool(t, machine.port);
  await send(pool, { path: '/first' });
  const post = send(pool, {
    method: 'POST',
    path: '/post',
    fields: formatFieldLines(['host', 'machine.test', 'content-length', '2']),
    body: chunksOf('hi'),
    bodyLength: true,
  });
  await assert.rejects(post, { code: 'UPSTREAM_CLOSED' });
  assert.equal((await send(pool, { path: '/after' })).body, '1');
  assert.deepEqual(requests, [['GET /first', 'POST /post'], ['GET /after']]);
});

test('UpstreamPool retries a stale connection only once', async (t) => {
  const machine = await rawMachine(t, (socket, index) => {
    let count = 0;
    readRequests(socket, () => {
      if (index === 0 && ++count === 1) socket.write(ok('0'));
      else socket.end();
    });
  });
  const pool = makePool(t, machine.port);
  await send(pool);
  await assert.rejects(send(pool), { code: 'UPSTREAM_CLOSED' });
  assert.equal(machine.sockets.length, 2);
});

test('UpstreamPool keeps to `connections` while it retries a stale connection with requests waiting', async (t) => {
  const requests: string[][] = [];
  const machine = await staleMachine(t, (socket) => socket.end(), requests);
  const pool = makePool(t, machine.port, { connections: 1 });
  await send(pool, { path: '/first' });
  const [a, b] = await Promise.all([send(pool, { path: '/a' }), send(pool, { path: '/b' })]);
  assert.equal(a.body, '1');
  assert.equal(b.body, '1');
  assert.deepEqual(requests, [['GET /first', 'GET /a'], ['GET /a', 'GET /b']]);
});

test('UpstreamPool never hands out an idle connection whose end it has just read', async (t) => {
  // node:net publishes each client socket it makes: the test listens to the pool's socket without touching it.
  const made: net.Socket[] = [];
  const onSocket = (message: unknown) => made.push((message as { socket: net.Socket }).socket);
  dc.subscribe('net.client.socket', onSocket);
  t.after(() => dc.unsubscribe('net.client.socket', onSocket));
  const requests: string[][] = [];
  const machine = await rawMachine(t, (socket, index) => {
    const seen: string[] = (requests[index] = []);
    readRequests(socket, (head, body) => {
      seen.push(`${head.slice(0, head.indexOf(' HTTP/1.1'))} ${body}`);
      // Connection 0 answers and closes at once: the connection goes idle, then its end arrives.
      if (index === 0) socket.end(ok('0'));
      else socket.write(ok('1'));
    });
  });
  const pool = makePool(t, machine.port);
  const first = send(pool);
  assert.equal(made.length, 1);
  // Registered after the pool's own listeners: runs once the pool has seen the end, before 'close'.
  const late = new Promise<Received>((resolve, reject) =>
    made[0].once('end', () => {
      const fields = formatFieldLines(['host', 'machine.test', 'content-length', '4']);
      send(pool, { method: 'POST', path: '/late', fields, body: chunksOf('late'), bodyLength: true }).then(resolve, reject);
    }),
  );
  assert.equal((await first).body, '0');
  assert.equal((await late).body, '1');
  assert.deepEqual(requests, [['GET / '], ['POST /late late']]);
});

test('UpstreamPool fails with ECONNREFUSED, for waiting requests too', async (t) => {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const pool = makePool(t, port, { connections: 1 });
  const results = await Promise.allSettled([send(pool), send(pool), send(pool)]);
  for (const result of results) {
    assert.equal(result.status, 'rejected');
    assert.equal((result.reason as { code?: string }).code, 'ECONNREFUSED');
  }
  assert.equal(pool.busy, 0);
});

/**
 * unacceptingPort is a loopback port whose listener never accepts: a worker thread listens with a
 * backlog of 1 and blocks its event loop. Once the kernel's accept queue holds backlog + 1
 * connections it drops further SYNs, so a connect hangs (Linux).
 */
async function unacceptingPort(t: TestContext): Promise<number> {
  const wake = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const server = require('node:net').createServer((socket) => socket.destroy());
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       Atomics.wait(new Int32Array(workerData), 0, 0);
       server.close();
     });`,
    { eval: true, workerData: wake.buffer },
  );
  t.after(async () => {
    Atomics.store(wake, 0, 1);
    Atomics.notify(wake, 0);
    await worker.terminate();
  });
  const [port] = (await once(worker, 'message')) as [number];
  for (let i = 0; i < 2; i++) {
    const filler = net.connect(port, '127.0.0.1');
    // Reset when the worker ends.
    filler.on('error', () => {});
    t.after(() => filler.destroy());
    await once(filler, 'connect');
  }
  // A filler's connect event can come before the kernel queued its final ACK: wait until the
  // listener's accept queue (rx_queue of a LISTEN line in /proc/net/tcp) holds both.
  while (acceptQueueLength(port) < 2) await nextTurn();
  return port;
}

/** acceptQueueLength is how many connections wait to be accepted on 127.0.0.1:`port` (Linux). */
function acceptQueueLength(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[3] === '0A') return Number.parseInt(fields[4].split(':')[1], 16);
  }
  return 0;
}

test('UpstreamPool fails with UPSTREAM_CONNECT_TIMEOUT when the connection is not established in time', { timeout: 10_000 }, async (t) => {
  const port = await unacceptingPort(t);
  const pool = makePool(t, port, { connectTimeoutMs: SHORT_MS });
  await assert.rejects(send(pool), { code: 'UPSTREAM_CONNECT_TIMEOUT' });
  assert.equal(pool.busy, 0);
});

test('UpstreamPool fails a request that waits longer than connectTimeoutMs for a free connection with UPSTREAM_CONNECT_TIMEOUT', async (t) => {
  const machine = await httpMachine(t);
  const pool = makePool(t, machine.port, { connections: 1, connectTimeoutMs: SHORT_MS });
  const first = send(pool, { path: '/first' });
  const held = await machine.held.next();
  await assert.rejects(send(pool, { path: '/second' }), { code: 'UPSTREAM_CONNECT_TIMEOUT' });
  held.res.end('first');
  assert.equal((await first).body, 'first');
  assert.equal(pool.busy, 0);
});

test('UpstreamPool fails with UPSTREAM_HEADERS_TIMEOUT when no head, or half a head, arrives in time', async (t) => {
  const machine = await rawMachine(
    t,
    answering((line) => (line.startsWith('GET /half ') ? 'HTTP/1.1 200 OK\r\ncontent-le' : null)),
  );
  const pool = makePool(t, machine.port, { headersTimeoutMs: SHORT_MS });
  await assert.rejects(send(pool), { code: 'UPSTREAM_HEADERS_TIMEOUT' });
  await closed(machine.sockets[0]);
  await assert.rejects(send(pool, { path: '/half' }), { code: 'UPSTREAM_HEADERS_TIMEOUT' });
  await closed(machine.sockets[1]);
  assert.equal(pool.busy, 0);
});

test('UpstreamPool does not time out the head while the machine is still taking a slow upload', { timeout: 10_000 }, async (t) => {
  // The upload takes three head timeouts to send; each piece the machine takes restarts the count
  // (docs/decisions.md, "Upstream timeouts"). The pacing is the scenario: a client sending slowly.
  const headersTimeoutMs = 400;
  const pieceGapMs = 40;
  const pieces = Math.ceil((3 * headersTimeoutMs) / pieceGapMs);
  async function* slowUpload(): AsyncGenerator<Buffer> {
    for (let i = 0; i < pieces; i++) {
      yield Buffer.from(`piece ${i};`);
      await new Promise((resolve) => setTimeout(resolve, pieceGapMs));
    }
  }
  const machine = await echoMachine(t);
  const pool = makePool(t, machine.port, { headersTimeoutMs });
  const started = Date.now();
  const received = await send(pool, { method: 'POST', fields: formatFieldLines(['host', 'machine.test']), body: slowUpload(), bodyLength: false });
  assert.ok(Date.now() - started >= 2 * headersTimeoutMs, 'the upload outlasted the head timeout');
  assert.equal(received.body, Array.from({ length: pieces }, (_, i) => `piece ${i};`).join(''));
});

test('UpstreamPool fails with UPSTREAM_BODY_TIMEOUT when the body stalls, keeping what arrived', async (t) => {
  const machine = await rawMachine(t, answering(() => 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
  const pool = makePool(t, machine.port, { bodyIdleTimeoutMs: SHORT_MS });
  const sink = new CollectSink();
  await assert.rejects(send(pool, {}, sink), { code: 'UPSTREAM_BODY_TIMEOUT' });
  assert.equal(sink.text, 'abc');
  assert.equal(sink.ended, false);
  await closed(machine.sockets[0]);
});

test('UpstreamPool fails with UPSTREAM_CLOSED when the machine closes before the response is complete', async (t) => {
  const replies = [
    'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc',
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n',
    'HTTP/1.1 200 OK\r\ncontent-le',
    '',
  ];
  const machine = await rawMachine(
    t,
    answering((line, connection, socket) => {
      socket.end(replies[connection]);
      return null;
    }),
  );
  const pool = makePool(t, machine.port);
  for (const reply of replies) {
    const sink = new CollectSink();
    await assert.rejects(send(pool, {}, sink), { code: 'UPSTREAM_CLOSED' }, JSON.stringify(reply));
    assert.equal(sink.ended, false);
  }
  assert.equal(machine.sockets.length, replies.length);
});

test('UpstreamPool fails with UPSTREAM_BAD_RESPONSE on a response that is not HTTP/1.x', async (t) => {
  const bigValue = 'a'.repeat(MAX_RESPONSE_HEAD_BYTES);
  const replies = [
    'SSH-2.0-OpenSSH_9.6\r\n\r\n',
    'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab',
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
    // Over the bound with no blank line yet, and with it.
    `HTTP/1.1 200 OK\r\nx-big: ${bigValue}`,
    `HTTP/1.1 200 OK\r\nx-big: ${bigValue}\r\n\r\n`,
  ];
  const machine = await rawMachine(t, answering((line, connection) => replies[connection]));
  const pool = makePool(t, machine.port);
  for (const [i, reply] of replies.entries()) {
    await assert.rejects(send(pool), { code: 'UPSTREAM_BAD_RESPONSE' }, reply.slice(0, 40));
    await closed(machine.sockets[i]);
  }
  assert.equal(pool.busy, 0);
});

test('UpstreamPool fails with UPSTREAM_ABORTED on an already cancelled request without connecting', async (t) => {
  const machine = await rawMachine(t, answering(() => ok('ok')));
  const pool = makePool(t, machine.port);
  await assert.rejects(send(pool, { cancel: Cancel.already() }), { code: 'UPSTREAM_ABORTED' });
  assert.equal(pool.busy, 0);
  await send(pool);
  assert.equal(machine.sockets.length, 1);
});

test('UpstreamPool fails with UPSTREAM_ABORTED when cancelled while waiting for the head or mid-body', async (t) => {
  const arrived = new Inbox<net.Socket>();
  const machine = await rawMachine(
    t,
    answering((line, connection, socket) => {
      arrived.push(socket);
      return line.startsWith('GET /body ') ? 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc' : null;
    }),
  );
  const pool = makePool(t, machine.port);
  const waiting = new Cancel();
  const head = send(pool, { cancel: waiting });
  const first = await arrived.next();
  waiting.cancel();
  await assert.rejects(head, { code: 'UPSTREAM_ABORTED' });
  await closed(first);

  const midBody = new Cancel();
  const sink = new CollectSink();
  sink.once('written', () => midBody.cancel());
  await assert.rejects(send(pool, { path: '/body', cancel: midBody }, sink), { code: 'UPSTREAM_ABORTED' });
  assert.equal(sink.text, 'abc');
  await closed(await arrived.next());
  assert.equal(pool.busy, 0);
});

test('UpstreamPool drops a cancelled request from the line before it reaches the machine', async (t) => {
  const machine = await httpMachine(t);
  const pool = makePool(t, machine.port, { connections: 1 });
  const first = send(pool, { path: '/first' });
  const held = await machine.held.next();
  const cancel = new Cancel();
  const second = send(pool, { path: '/second', cancel });
  const third = send(pool, { path: '/third' });
  assert.equal(pool.busy, 3);
  cancel.cancel();
  await assert.rejects(second, { code: 'UPSTREAM_ABORTED' });
  assert.equal(pool.busy, 2);
  held.res.end('1');
  const next = await machine.held.next();
  assert.equal(next.req.url, '/third');
  next.res.end('3');
  assert.equal((await first).body, '1');
  assert.equal((await third).body, '3');
});

test('UpstreamPool settles an exchange once when it is cancelled from inside onHead, a write or the end', async (t) => {
  const machine = await rawMachine(
    t,
    answering((line) => (line.startsWith('GET /chunked ') ? 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' : ok('abc'))),
  );
  const pool = makePool(t, machine.port);
  const inWrite = new Cancel();
  const sink = new CollectSink();
  sink.accept = () => {
    inWrite.cancel();
    return true;
  };
  await assert.rejects(send(pool, { path: '/chunked', cancel: inWrite }, sink), { code: 'UPSTREAM_ABORTED' });
  assert.equal(pool.busy, 0);
  assert.equal(sink.ended, false);

  // The last piece of a Content-Length body goes with the end: a cancel then is too late.
  const inEnd = new Cancel();
  const ended = new CollectSink();
  ended.accept = () => {
    inEnd.cancel();
    return true;
  };
  assert.equal((await send(pool, { cancel: inEnd }, ended)).body, 'abc');
  assert.equal(pool.busy, 0);

  const inHead = new Cancel();
  await assert.rejects(
    pool.stream(request({ cancel: inHead }), () => {
      inHead.cancel();
      return new CollectSink();
    }),
    { code: 'UPSTREAM_ABORTED' },
  );
  assert.equal(pool.busy, 0);
});

test('UpstreamPool stops reading while the sink asks to wait and resumes on drain', async (t) => {
  const rest = 'r'.repeat(16_384);
  const machine = await rawMachine(
    t,
    answering((line) => (line.startsWith('GET /again ') ? ok('again') : `HTTP/1.1 200 OK\r\ncontent-length: ${5 + rest.length}\r\n\r\nfirst`)),
  );
  const pool = makePool(t, machine.port);
  const sink = new CollectSink();
  sink.accept = () => false;
  const written = once(sink, 'written');
  const done = send(pool, {}, sink);
  await written;
  await new Promise((resolve) => machine.sockets[0].write(rest, resolve));
  // Two turns of the event loop: a socket still reading would have delivered the bytes by now.
  await nextTurn();
  await nextTurn();
  assert.equal(sink.chunks.length, 1);
  sink.accept = () => true;
  sink.emit('drain');
  const received = await done;
  assert.equal(received.body, `first${rest}`);
  assert.equal((await send(pool, { path: '/again' })).body, 'again');
  assert.equal(machine.sockets.length, 1);
});

/** KeepSink keeps the very buffers it is handed, as a client socket's write queue does. */
class KeepSink extends EventEmitter implements BodySink {
  kept: Buffer[] = [];
  ended = false;

  write(chunk: Buffer): boolean {
    this.kept.push(chunk);
    this.emit('written');
    return true;
  }

  end(last?: Buffer): void {
    if (last !== undefined) this.kept.push(last);
    this.ended = true;
    this.emit('ended');
  }
}

test('UpstreamPool hands a sink body pieces of its own, which later reads on other connections leave intact', async (t) => {
  const machine = await rawMachine(t, (socket, index) =>
    readRequests(socket, () => {
      if (index === 0) socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\naaaa`, 'latin1');
      else socket.write(ok('bbbbbbbb'), 'latin1');
    }),
  );
  const pool = makePool(t, machine.port);
  const slow = new KeepSink();
  const first = pool.stream(request(), () => slow);
  await once(slow, 'written');
  // A second connection's response is read while the first piece waits in the sink.
  assert.equal((await send(pool)).body, 'bbbbbbbb');
  machine.sockets[0].write('AAAA', 'latin1');
  await first;
  assert.equal(Buffer.concat(slow.kept).toString('latin1'), 'aaaaAAAA');
});

test('UpstreamPool keeps a head split after a 1xx response whole while other connections read', async (t) => {
  const halfSent = new Inbox<net.Socket>();
  const machine = await rawMachine(t, (socket, index) =>
    readRequests(socket, () => {
      if (index > 0) {
        socket.write(ok('x'.repeat(64)), 'latin1');
      } else {
        socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-le', 'latin1');
        halfSent.push(socket);
      }
    }),
  );
  const pool = makePool(t, machine.port);
  const first = send(pool);
  const socket = await halfSent.next();
  // The second connection's connect and response take turns of the loop after the half head
  // was read, so its bytes land in the read buffer after the half head was put aside.
  assert.equal((await send(pool)).body, 'x'.repeat(64));
  socket.write('ngth: 4\r\n\r\ndone', 'latin1');
  const received = await first;
  assert.equal(received.head.status, 200);
  assert.equal(received.body, 'done');
});

test('UpstreamPool delivers a large body whole through a sink that asks to wait after every write', async (t) => {
  const body = Buffer.alloc(2_000_000);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  const machine = await httpMachine(t, (req, res) => res.end(body));
  const pool = makePool(t, machine.port);
  const sink = new CollectSink();
  sink.accept = () => {
    setImmediate(() => sink.emit('drain'));
    return false;
  };
  await send(pool, {}, sink);
  assert.ok(Buffer.concat(sink.chunks).equals(body));
});

test('UpstreamPool ends the exchange with the error a sink throws and does not reuse the connection', async (t) => {
  const machine = await httpMachine(t, (req, res) => {
    res.write('one');
    res.end('two');
  });
  const pool = makePool(t, machine.port);
  const refusal = new Error('the client is gone');
  const throwing = new CollectSink();
  throwing.accept = () => {
    throw refusal;
  };
  await assert.rejects(send(pool, {}, throwing), (error) => error === refusal);
  await closed(machine.sockets[0]);

  const endFails = new CollectSink();
  endFails.end = () => {
    throw refusal;
  };
  await assert.rejects(
    pool.stream(request(), () => endFails),
    (error) => error === refusal,
  );
  await closed(machine.sockets[1]);

  await assert.rejects(
    pool.stream(request(), () => {
      throw refusal;
    }),
    (error) => error === refusal,
  );
  await closed(machine.sockets[2]);
  assert.equal((await send(pool)).body, 'onetwo');
  assert.equal(machine.sockets.length, 4);
  assert.equal(pool.busy, 0);
});

test('UpstreamPool close() refuses new requests and resolves once the exchanges under way end', async (t) => {
  const machine = await httpMachine(t);
  const pool = makePool(t, machine.port);
  const sink = new CollectSink();
  const inFlight = send(pool, { path: '/slow' }, sink);
  const held = await machine.held.next();
  let closedYet = false;
  const closing = pool.close().then(() => {
    closedYet = true;
  });
  await assert.rejects(send(pool), { code: 'UPSTREAM_POOL_CLOSED' });
  assert.equal(closedYet, false);
  assert.equal(pool.busy, 1);
  held.res.end('slow');
  await closing;
  assert.equal(sink.ended, true);
  assert.equal((await inFlight).body, 'slow');
  await closed(machine.sockets[0]);
  assert.equal(pool.busy, 0);
});

test('UpstreamPool close() lets requests already waiting for a connection finish', { timeout: 3_000 }, async (t) => {
  // Without them served (or failed) close() never resolves: the test times out instead.
  const machine = await httpMachine(t);
  const pool = makePool(t, machine.port, { connections: 1 });
  const first = send(pool, { path: '/first' });
  const held = await machine.held.next();
  const waiting = send(pool, { path: '/waiting' });
  // Should the test time out, the pool's destroy() fails it: not an unhandled rejection.
  waiting.catch(() => {});
  const closing = pool.close();
  held.res.end('first');
  assert.equal((await first).body, 'first');
  const next = await machine.held.next();
  assert.equal(next.req.url, '/waiting');
  next.res.end('waited');
  assert.equal((await waiting).body, 'waited');
  await closing;
  assert.equal(pool.busy, 0);
});

test('UpstreamPool close() gives a waiting request a new connection when the one in use closes', { timeout: 3_000 }, async (t) => {
  const machine = await rawMachine(
    t,
    answering((line) => (line.startsWith('GET /first ') ? ok('first', 'connection: close\r\n') : ok('waited'))),
  );
  const pool = makePool(t, machine.port, { connections: 1 });
  const first = send(pool, { path: '/first' });
  const waiting = send(pool, { path: '/waiting' });
  waiting.catch(() => {});
  const closing = pool.close();
  assert.equal((await first).body, 'first');
  assert.equal((await waiting).body, 'waited');
  await closing;
  assert.equal(machine.sockets.length, 2);
});

test('UpstreamPool close() with nothing under way resolves and closes idle connections', async (t) => {
  const machine = await httpMachine(t, (req, res) => res.end('ok'));
  const pool = makePool(t, machine.port);
  await send(pool);
  await pool.close();
  await closed(machine.sockets[0]);
  await assert.rejects(send(pool), { code: 'UPSTREAM_POOL_CLOSED' });
});

test('UpstreamPool destroy() fails waiting requests and the exchanges under way at once', async (t) => {
  const machine = await httpMachine(t);
  const pool = makePool(t, machine.port, { connections: 1 });
  const inFlight = send(pool, { path: '/held' });
  await machine.held.next();
  const waiting = send(pool, { path: '/waiting' });
  const destroyed = pool.destroy();
  await assert.rejects(waiting, { code: 'UPSTREAM_POOL_CLOSED' });
  // The exchange under way loses its connection.
  await assert.rejects(inFlight, { code: 'UPSTREAM_CLOSED' });
  await destroyed;
  assert.equal(pool.busy, 0);
  await closed(machine.sockets[0]);
  await assert.rejects(send(pool), { code: 'UPSTREAM_POOL_CLOSED' });
});
