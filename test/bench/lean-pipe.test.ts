/**
 * Tests of the lean-pipe benchmark peer (bench/peers/lean-pipe.ts) on the wire: the peer runs as a
 * child process in front of a node:http backend, and raw sockets send the odd requests. The peer
 * imports nothing from src/.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startBackend as startHttpBackend } from '../harness/index.ts';
import { RawClient } from '../downstream/http-test-client.ts';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const PEER = fileURLToPath(new URL('../../bench/peers/lean-pipe.ts', import.meta.url));
const HELLO = 'hello, world\n';
/** HEAD_TIMEOUT_MS is short so that the slowloris case answers quickly. */
const HEAD_TIMEOUT_MS = 300;

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  remotePort: number;
}

/** startBackend runs the node:http upstream on port 0 and records every request it finished reading. */
async function startBackend(t: TestContext): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const backend = await startHttpBackend(t, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, remotePort: req.socket.remotePort! });
      answer(req, res, body);
    });
  });
  return { port: backend.port, seen };
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const url = new URL(req.url!, 'http://x');
  switch (url.pathname) {
    case '/echo':
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
      return;
    case '/slow':
      // The first of a pipelined batch answers last unless the proxy keeps the order.
      setTimeout(() => res.end(`slow ${url.searchParams.get('id')}`), 30);
      return;
    case '/chunked':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a'.repeat(5000));
      res.write('b'.repeat(70_000));
      res.end('c');
      return;
    case '/close':
      res.useChunkedEncodingByDefault = false; // neither length nor chunks: the body ends at close
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('close-');
      res.end('delimited');
      return;
    case '/204':
    case '/304':
      res.writeHead(Number(url.pathname.slice(1)));
      res.end();
      return;
    default:
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length, 'x-backend': 'yes' });
      res.end(req.method === 'HEAD' ? undefined : HELLO);
  }
}

/** freePort is a port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** startPeer runs lean-pipe as a child process and stops it, by PID, after the test. */
async function startPeer(t: TestContext, upstreamPort: number): Promise<number> {
  const port = await freePort();
  const child = spawn(NODE, [PEER, '--port', String(port), '--upstream', `http://127.0.0.1:${upstreamPort}`,
    '--head-timeout-ms', String(HEAD_TIMEOUT_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  t.after(async () => {
    process.kill(child.pid!, 'SIGTERM');
    await exited;
  });
  const [line] = (await Promise.race([once(child.stdout, 'data'), exited])) as [Buffer];
  assert.match(String(line), /listening/);
  return port;
}

/** request sends one request through node:http and returns status, headers and body bytes. */
async function request(port: number, options: http.RequestOptions, body?: (req: http.ClientRequest) => void) {
  const req = http.request({ host: '127.0.0.1', port, agent: false, ...options });
  if (body === undefined) req.end();
  else body(req);
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  const parts: Buffer[] = [];
  for await (const chunk of res) parts.push(chunk as Buffer);
  return { status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) };
}

function bytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

test('lean-pipe', async (t) => {
  const backend = await startBackend(t);
  const port = await startPeer(t, backend.port);

  await t.test('a keep-alive GET returns the body intact, twice on one connection and one pooled upstream', async (t) => {
    const client = await RawClient.open(t, port);
    const before = backend.seen.length;
    for (let i = 0; i < 2; i++) {
      client.socket.write('GET /hello HTTP/1.1\r\nHost: app.test\r\n\r\n');
      const res = await client.read();
      assert.equal(res.status, 200);
      assert.equal(res.body, HELLO);
      assert.equal(res.headers['x-backend'], 'yes');
      assert.equal(res.headers.via, '1.1 lean');
      assert.equal(res.headers.connection, undefined);
    }
    const [first, second] = backend.seen.slice(before);
    assert.equal(first.remotePort, second.remotePort);
    assert.equal(client.closed, false);
  });

  await t.test('a POST body with Content-Length arrives intact and comes back intact', async () => {
    const body = bytes(300_000, 1);
    const res = await request(port, { method: 'POST', path: '/echo', headers: { 'content-length': body.length } }, (req) => req.end(body));
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(body));
    const seen = backend.seen.at(-1)!;
    assert.ok(seen.body.equals(body));
    assert.equal(seen.headers['content-length'], String(body.length));
  });

  await t.test('a chunked POST body arrives intact and still chunked', async () => {
    const parts = [bytes(10, 2), bytes(70_000, 3), bytes(1, 4)];
    const res = await request(port, { method: 'POST', path: '/echo' }, (req) => {
      for (const part of parts) req.write(part);
      req.end();
    });
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(Buffer.concat(parts)));
    const seen = backend.seen.at(-1)!;
    assert.equal(seen.headers['transfer-encoding'], 'chunked');
    assert.ok(seen.body.equals(Buffer.concat(parts)));
  });

  await t.test('pipelined requests are answered in order, one at a time', async (t) => {
    const client = await RawClient.open(t, port);
    client.socket.write(
      'GET /slow?id=1 HTTP/1.1\r\nHost: a\r\n\r\n' +
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\ntwo' +
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nthr\r\n2;x=y\r\nee\r\n0\r\n\r\n' +
      'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await client.read()).body);
    assert.deepEqual(bodies, ['slow 1', 'two', 'three', HELLO]);
  });

  await t.test('a chunked upstream response arrives intact and chunked', async (t) => {
    const client = await RawClient.open(t, port);
    client.socket.write('GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n');
    const res = await client.read();
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.body, `${'a'.repeat(5000)}${'b'.repeat(70_000)}c`);
    client.socket.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal((await client.read()).body, HELLO);
  });

  await t.test('a close-delimited upstream response arrives intact and closes the client connection', async (t) => {
    const client = await RawClient.open(t, port);
    client.socket.write('GET /close HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.untilClosed();
    const res = await client.read();
    assert.equal(res.status, 200);
    assert.equal(res.headers.connection, 'close');
    assert.equal(res.body, 'close-delimited');
  });

  await t.test('HEAD, 204 and 304 responses have no body', async (t) => {
    const client = await RawClient.open(t, port);
    client.socket.write(
      'HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /304 HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    const head = await client.read(true);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(HELLO.length));
    assert.equal((await client.read()).status, 204);
    assert.equal((await client.read()).status, 304);
    assert.equal((await client.read()).body, HELLO);
    assert.equal(client.text, '');
  });

  await t.test('Connection: close is honoured after the response', async (t) => {
    const client = await RawClient.open(t, port);
    client.socket.write('GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const res = await client.read();
    assert.equal(res.body, HELLO);
    assert.equal(res.headers.connection, 'close');
    await client.untilClosed();
  });

  await t.test('client fly-* and hop-by-hop headers never reach the backend; X-Forwarded-For and Via are appended', async (t) => {
    const client = await RawClient.open(t, port);
    client.socket.write(
      'GET /hello HTTP/1.1\r\nHost: a\r\nFly-Force-Instance-Id: m1\r\nfly-client-ip: 6.6.6.6\r\nFLY-REGION: evil\r\n' +
      'X-Forwarded-For: 1.2.3.4\r\nVia: 1.0 edge\r\nConnection: x-secret\r\nX-Secret: s\r\nKeep-Alive: timeout=1\r\n' +
      'X-Forwarded-Proto: https\r\nX-Kept: yes\r\n\r\n',
    );
    assert.equal((await client.read()).body, HELLO);
    const { headers } = backend.seen.at(-1)!;
    assert.deepEqual(Object.keys(headers).filter((name) => name.startsWith('fly-')), []);
    assert.equal(headers['x-forwarded-for'], '1.2.3.4, 127.0.0.1');
    assert.equal(headers.via, '1.0 edge, 1.1 lean');
    assert.equal(headers['x-forwarded-proto'], 'http');
    assert.equal(headers['x-secret'], undefined);
    assert.equal(headers['keep-alive'], undefined);
    assert.equal(headers['x-kept'], 'yes');
    assert.equal(headers.host, 'a');
  });

  const rejected: [string, string, number][] = [
    ['Content-Length beside Transfer-Encoding', 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['two different Content-Lengths', 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 400],
    ['a Content-Length that is not a number', 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc', 400],
    ['a transfer coding other than chunked', 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 501],
    ['a chunk size that is not hex', 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n', 400],
    ['whitespace before a colon', 'GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n', 400],
    ['an obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n', 400],
    ['a bare LF in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\nX-B: c\r\n\r\n', 400],
    ['a method that is not a token', 'G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    ['no Host header', 'GET / HTTP/1.1\r\nX-A: b\r\n\r\n', 400],
    ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: a\r\n\r\n', 505],
    ['an Upgrade', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n', 501],
    ['a head over 16 KiB', `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(17 * 1024)}\r\n\r\n`, 431],
  ];
  for (const [what, text, status] of rejected) {
    await t.test(`a request with ${what} is answered ${status} and the connection closed`, async (t) => {
      const client = await RawClient.open(t, port);
      const before = backend.seen.length;
      client.socket.write(text);
      const res = await client.read();
      assert.equal(res.status, status);
      assert.equal(res.headers.connection, 'close');
      await client.untilClosed();
      assert.equal(backend.seen.length, before, 'the backend finished no request');
    });
  }

  await t.test('a head that never completes is answered 408 and closed (slowloris)', async (t) => {
    const client = await RawClient.open(t, port);
    client.socket.write('GET / HTTP/1.1\r\nHost: a\r\n');
    await client.untilClosed();
    assert.equal((await client.read()).status, 408);
  });

  await t.test('a dead upstream gives 502', async (t) => {
    const deadPort = await startPeer(t, await freePort());
    const client = await RawClient.open(t, deadPort);
    client.socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const res = await client.read();
    assert.equal(res.status, 502);
    await client.untilClosed();
  });
});
