/**
 * Tests of HttpServer (src/downstream/http-server.ts) serving requests on the wire: keep-alive and
 * Connection: close, response framing (chunked, close-delimited, HEAD/204/304), pipelining, request
 * bodies in many small writes and under backpressure, 100-continue and upgrades.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import type { ClientExchange } from '../../src/downstream/client-exchange.ts';
import {
  RawClient,
  answer,
  bytes,
  chunked,
  latin1,
  readBody,
  route,
  serve,
  settle,
  urls,
  writeInPieces,
} from './http-test-client.ts';

test('HttpServer answers a GET with the handler\'s fields and a date, and keeps the connection for the next request', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  const first = await client.read();
  assert.equal(first.statusLine, 'HTTP/1.1 200 OK');
  assert.deepEqual(first.names, ['content-type', 'x-handler', 'content-length', 'date']);
  assert.equal(first.headers['x-handler'], 'yes');
  assert.match(first.headers.date, /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  assert.ok(Math.abs(Date.parse(first.headers.date) - Date.now()) < 5_000);
  assert.equal(first.body, 'hello');

  client.write('GET /hello?again HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await client.read()).body, 'hello');
  assert.equal(client.closed, false);
  assert.equal(client.text, '');
  assert.deepEqual(urls(served), ['/hello', '/hello?again']);
  assert.equal(served.exchanges[0].remoteAddress, '127.0.0.1');
  assert.equal(served.exchanges[0].head.host, 'a');
});

test('HttpServer keeps a date field the handler sent and adds none', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write('GET /dated HTTP/1.1\r\nHost: a\r\n\r\n');
  const res = await client.read();
  assert.equal(res.names.filter((name) => name === 'date').length, 1);
  assert.equal(res.headers.date, 'Tue, 01 Jan 2030 00:00:00 GMT');
});

test('HttpServer ignores empty lines before a request line (RFC 9112 §2.2)', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write('\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await client.read()).body, 'hello');
  client.write('\r\n');
  client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await client.read()).body, 'hello');
});

test('HttpServer closes after answering an HTTP/1.1 request that said Connection: close', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write('GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const res = await client.read();
  assert.equal(res.body, 'hello');
  assert.equal(res.headers.connection, 'close');
  await client.untilClosed();
});

test('HttpServer closes after answering HTTP/1.0 unless the client asked for keep-alive', async (t) => {
  const served = await serve(t);
  const plain = await RawClient.open(t, served.port);
  plain.write('GET /hello HTTP/1.0\r\n\r\n');
  const res = await plain.read();
  assert.equal(res.statusLine, 'HTTP/1.1 200 OK');
  assert.equal(res.headers.connection, 'close');
  assert.equal(res.body, 'hello');
  await plain.untilClosed();

  const kept = await RawClient.open(t, served.port);
  for (let i = 0; i < 2; i++) {
    kept.write('GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const again = await kept.read();
    assert.equal(again.headers.connection, 'keep-alive');
    assert.equal(again.body, 'hello');
  }
  assert.equal(kept.closed, false);
});

test('HttpServer chunks a response without content-length to an HTTP/1.1 client and keeps the connection', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write('GET /stream HTTP/1.1\r\nHost: a\r\n\r\n');
  await client.until(/\r\n0\r\n\r\n$/);
  assert.ok(client.text.endsWith('transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n'), client.text);
  const res = await client.read();
  assert.equal(res.body, 'abcdef');
  assert.equal(res.headers['content-length'], undefined);
  assert.equal(res.headers.connection, undefined);
  client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await client.read()).body, 'hello');
});

test('HttpServer ends a response without content-length to an HTTP/1.0 client by closing, keep-alive or not', async (t) => {
  const served = await serve(t);
  for (const fields of ['', 'Connection: keep-alive\r\n']) {
    const client = await RawClient.open(t, served.port);
    client.write(`GET /stream HTTP/1.0\r\n${fields}\r\n`);
    await client.untilClosed();
    const res = await client.read();
    assert.equal(res.headers.connection, 'close');
    assert.equal(res.headers['transfer-encoding'], undefined);
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.body, 'abcdef');
  }
});

test('HttpServer sends no body with a HEAD, 204 or 304 response, whatever the handler writes', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write(
    'HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\nHEAD /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /status/204 HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /status/304 HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n',
  );
  const head = await client.read(true);
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '5');
  const streamHead = await client.read(true);
  assert.equal(streamHead.headers['transfer-encoding'], undefined);
  for (const status of [204, 304]) {
    const res = await client.read();
    assert.equal(res.status, status);
    assert.equal(res.headers['x-status'], 'yes');
    assert.equal(res.headers['transfer-encoding'], undefined);
  }
  assert.equal((await client.read()).body, 'hello');
  assert.equal(client.text, '');
  assert.equal(client.closed, false);
});

test('HttpServer answers pipelined requests in order, one at a time, even when the first answers last', async (t) => {
  const slow = Promise.withResolvers<ClientExchange>();
  const served = await serve(t, (exchange, served) => {
    if (exchange.head.url === '/slow') slow.resolve(exchange);
    else return route(exchange, served);
  });
  const client = await RawClient.open(t, served.port);
  client.write(
    'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n' +
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\ntwo' +
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nthr\r\n2;x=y\r\nee\r\n0\r\n\r\n' +
      'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n',
  );
  const first = await slow.promise;
  await settle(t, served.port);
  assert.deepEqual(urls(served), ['/slow'], 'the next request waits for the response before it');
  assert.equal(client.text, '');
  answer(first, 200, 'one');
  const bodies = [];
  for (let i = 0; i < 4; i++) bodies.push((await client.read()).body);
  assert.deepEqual(bodies, ['one', 'two', 'three', 'hello']);
  assert.deepEqual(urls(served), ['/slow', '/echo', '/echo', '/hello']);
});

test('HttpServer hands a Content-Length body sent in many small writes to the handler whole', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  const body = bytes(300_000, 1);
  writeInPieces(client, Buffer.from(`POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`), 1000, 40);
  writeInPieces(client, body, 1000, 10);
  const res = await client.read();
  assert.equal(res.status, 200);
  assert.equal(res.body.length, body.length);
  assert.ok(res.body === latin1(body));
  assert.equal(served.exchanges[0].head.contentLength, body.length);
  client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await client.read()).body, 'hello');
});

test('HttpServer hands a chunked body with extensions and a trailer, sent in many small writes, to the handler whole', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  const parts = [bytes(1, 2), bytes(70_000, 3), bytes(5, 4), bytes(100_000, 5)];
  client.write('POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
  writeInPieces(client, chunked(parts), 999, 300);
  const res = await client.read();
  assert.equal(res.status, 200);
  assert.ok(res.body === latin1(Buffer.concat(parts)));
  assert.equal(served.exchanges[0].head.chunked, true);
  // The body's end was found: the connection carries the next request.
  client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await client.read()).body, 'hello');
});

test('HttpServer pauses a client whose body is not being read, and the body still arrives whole', { timeout: 5_000 }, async (t) => {
  const served = await serve(t, async (exchange, served) => {
    if (exchange.head.url !== '/paused-echo') return route(exchange, served);
    // Not reading: the server must stop reading the client once 64 KiB wait.
    if (!exchange.socket.isPaused()) await once(exchange.socket, 'pause');
    answer(exchange, 200, await readBody(exchange));
  });
  for (const framing of ['content-length', 'chunked']) {
    const client = await RawClient.open(t, served.port);
    const body = bytes(400_000, 6);
    if (framing === 'chunked') {
      client.write('POST /paused-echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
      client.write(chunked([body.subarray(0, 150_000), body.subarray(150_000)]));
    } else {
      client.write(`POST /paused-echo HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`);
      client.write(body);
    }
    const res = await client.read();
    assert.equal(res.status, 200, framing);
    assert.ok(res.body === latin1(body), framing);
  }
});

test('HttpServer sends 100 Continue once, when the handler starts reading the body, and not before', async (t) => {
  const called = Promise.withResolvers<ClientExchange>();
  const go = Promise.withResolvers<void>();
  const served = await serve(t, async (exchange, served) => {
    if (exchange.head.url !== '/expect') return route(exchange, served);
    called.resolve(exchange);
    await go.promise;
    answer(exchange, 200, await readBody(exchange));
  });
  const client = await RawClient.open(t, served.port);
  client.write('POST /expect HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
  const exchange = await called.promise;
  assert.equal(exchange.head.expectContinue, true);
  await settle(t, served.port);
  assert.equal(client.text, '', 'nothing is sent before the handler reads');
  go.resolve();
  const cont = await client.read();
  assert.equal(cont.statusLine, 'HTTP/1.1 100 Continue');
  assert.deepEqual(cont.names, []);
  client.write('he');
  client.write('llo');
  const res = await client.read();
  assert.equal(res.body, 'hello');
  assert.equal(res.headers.connection, undefined);
  assert.equal(client.text, '');
});

test('HttpServer sends no 100 Continue to a request answered without reading its body, and closes after', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write('POST /ignore-body HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
  const res = await client.read();
  assert.equal(res.status, 200);
  assert.equal(res.body, 'ignored');
  assert.equal(res.headers.connection, 'close');
  await client.untilClosed();
  assert.equal(client.text, '');
});

test('HttpServer hands an upgrade request its socket and the bytes after the head, and reads no more of it', async (t) => {
  const upgraded = Promise.withResolvers<ClientExchange>();
  const served = await serve(t, (exchange, served) => {
    if (exchange.head.upgrade) upgraded.resolve(exchange);
    else return route(exchange, served);
  });
  const client = await RawClient.open(t, served.port);
  client.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nearly-bytes');
  const exchange = await upgraded.promise;
  assert.equal(exchange.head.upgrade, true);
  assert.equal(exchange.body, null);
  assert.ok(exchange.socket instanceof net.Socket);
  assert.equal(latin1(exchange.upgradeHead!), 'early-bytes');
  assert.equal(served.server.busy, 1);

  // What looks like HTTP after the head is not the server's to read.
  const later = 'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n';
  client.write(later);
  await settle(t, served.port);
  assert.deepEqual(urls(served), ['/ws']);
  assert.equal(client.text, '');

  const socket = exchange.socket;
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  socket.on('data', (chunk: Buffer) => socket.write(chunk));
  socket.resume();
  await client.until(/Host: a\r\n\r\n$/);
  assert.equal(client.text, `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n${later}`);
  client.write('more');
  await client.until(/more$/);
});

test('HttpServer closes the connection after an upgrade request answered without switching protocols', async (t) => {
  const served = await serve(t, (exchange) => answer(exchange, 426, 'no upgrade'));
  const client = await RawClient.open(t, served.port);
  client.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n');
  const res = await client.read();
  assert.equal(res.status, 426);
  await client.untilClosed();
  assert.equal(client.text, '');
  assert.equal(served.exchanges.length, 1);
});

test('HttpServer keeps the connection after a response to a request whose body was read to its end', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write('POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc');
  const res = await client.read();
  assert.equal(res.body, 'abc');
  assert.equal(res.headers.connection, undefined);
  client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await client.read()).body, 'hello');
});
