/**
 * Tests of what HttpServer (src/downstream/http-server.ts) refuses or cuts short on the wire:
 * malformed chunked bodies, requests it cannot read one way only (smuggling), heads over
 * MAX_REQUEST_HEAD_BYTES (431), head, body and keep-alive timeouts, and the lingering close after
 * a response to a request whose body was not read.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import type { ClientExchange } from '../../src/downstream/client-exchange.ts';
import { ClientTimeoutError } from '../../src/downstream/http-server.ts';
import { ClientBodyError } from '../../src/downstream/request-body.ts';
import { BadRequestError, MAX_REQUEST_HEAD_BYTES } from '../../src/downstream/request-head.ts';
import { OPTIONS, RawClient, SWEEP_MS, answer, bytes, latin1, route, serve, settle } from './http-test-client.ts';

test('HttpServer fails the body of a malformed chunked request with CLIENT_BODY and closes after the response', async (t) => {
  const served = await serve(t);
  const cases = [
    ['a chunk size that is not hex', ['zz\r\nab\r\n0\r\n\r\n']],
    ['chunk data longer than its size, after a good chunk', ['3\r\nabc\r\n', '3\r\nabcd\r\n0\r\n\r\n']],
  ] as const;
  for (const [what, pieces] of cases) {
    const client = await RawClient.open(t, served.port);
    client.write('POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (const piece of pieces) client.write(piece);
    const res = await client.read();
    assert.equal(res.body, 'body-error:CLIENT_BODY', what);
    assert.equal(res.headers.connection, 'close', what);
    await client.untilClosed();
  }
  assert.equal(served.bodyErrors.length, 2);
  for (const error of served.bodyErrors) {
    assert.ok(error instanceof ClientBodyError);
    assert.equal(error.code, 'CLIENT_BODY');
  }
});

test('HttpServer keeps failing a request body after a malformed chunk, whatever the client sends next', async (t) => {
  const firstError = Promise.withResolvers<ClientExchange>();
  const again = Promise.withResolvers<void>();
  const served = await serve(t, async (exchange, served) => {
    if (exchange.head.url !== '/fail-twice') return route(exchange, served);
    const body = exchange.body![Symbol.asyncIterator]();
    await assert.rejects(body.next(), { code: 'CLIENT_BODY' });
    firstError.resolve(exchange);
    await again.promise;
    await assert.rejects(body.next(), { code: 'CLIENT_BODY' });
    answer(exchange, 400, 'bad body');
  });
  const client = await RawClient.open(t, served.port);
  client.write('POST /fail-twice HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
  await firstError.promise;
  client.write('5\r\nhello\r\n0\r\n\r\n');
  await settle(t, served.port);
  again.resolve();
  assert.equal((await client.read()).status, 400);
  await client.untilClosed();
});

test('HttpServer refuses requests it cannot read one way only, closes, and never calls the handler', async (t) => {
  const served = await serve(t);
  const next = 'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n';
  const refused: [string, string, number][] = [
    ['Content-Length beside Transfer-Encoding', 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['Transfer-Encoding before Content-Length', 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n', 400],
    ['two different Content-Lengths', 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 35\r\n\r\nabc', 400],
    ['a signed Content-Length', 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc', 400],
    ['Transfer-Encoding: chunked, identity', 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n', 501],
    ['Transfer-Encoding in HTTP/1.0', 'POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['an obs-fold', 'GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n', 400],
    ['a bare LF', 'GET /hello HTTP/1.1\r\nHost: a\r\nX-A: b\nContent-Length: 3\r\n\r\nabc', 400],
    ['whitespace before a colon', 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\nabc', 400],
    ['no Host', 'GET /hello HTTP/1.1\r\n\r\n', 400],
    ['HTTP/2.0', 'GET /hello HTTP/2.0\r\nHost: a\r\n\r\n', 505],
    ['CONNECT', 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n', 501],
    ['an expectation other than 100-continue', 'POST /echo HTTP/1.1\r\nHost: a\r\nExpect: x\r\nContent-Length: 3\r\n\r\nabc', 417],
  ];
  for (const [what, text, status] of refused) {
    await t.test(`a request with ${what} is answered ${status}`, async (t) => {
      const before = served.clientErrors.length;
      const client = await RawClient.open(t, served.port);
      client.write(text + next);
      const res = await client.read();
      assert.equal(res.status, status);
      assert.equal(res.headers.connection, 'close');
      assert.ok(res.headers.date);
      await client.untilClosed();
      assert.equal(client.text, '', 'the request after it is not answered');
      assert.equal(served.clientErrors.length, before + 1);
      const error = served.clientErrors[before];
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.status, status);
    });
  }
  assert.deepEqual(served.exchanges, []);
});

/** headOfLength is a GET /hello head (without its blank line) exactly `length` bytes long. */
function headOfLength(length: number): string {
  const start = 'GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: ';
  return start + 'x'.repeat(length - start.length);
}

test('HttpServer answers a request head over MAX_REQUEST_HEAD_BYTES with 431 and closes', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write(`${headOfLength(MAX_REQUEST_HEAD_BYTES + 1)}\r\n\r\n`);
  const res = await client.read();
  assert.equal(res.status, 431);
  assert.equal(res.headers.connection, 'close');
  await client.untilClosed();
  assert.deepEqual(served.exchanges, []);
});

test('HttpServer answers a head that grows past MAX_REQUEST_HEAD_BYTES without ending with 431, not waiting for it', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write(headOfLength(MAX_REQUEST_HEAD_BYTES + 10));
  const res = await client.read();
  assert.equal(res.status, 431);
  await client.untilClosed();
  assert.ok(served.clientErrors[0] instanceof BadRequestError);
});

test('HttpServer serves a head of exactly MAX_REQUEST_HEAD_BYTES, in one write or with its blank line cut short', async (t) => {
  const served = await serve(t);
  const text = headOfLength(MAX_REQUEST_HEAD_BYTES);
  const whole = await RawClient.open(t, served.port);
  whole.write(`${text}\r\n\r\n`);
  assert.equal((await whole.read()).body, 'hello');

  const cut = await RawClient.open(t, served.port);
  cut.write(`${text}\r\n\r`);
  await settle(t, served.port);
  cut.write('\n');
  assert.equal((await cut.read()).body, 'hello');
  assert.deepEqual(served.clientErrors, []);
});

test('HttpServer answers a head that stops arriving with 408 after headTimeoutMs and closes', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  const start = performance.now();
  client.write('GET /hello HTTP/1.1\r\nHost: a\r\n');
  await client.untilClosed();
  assert.ok(performance.now() - start >= OPTIONS.headTimeoutMs - 2 * SWEEP_MS);
  const res = await client.read();
  assert.equal(res.status, 408);
  assert.equal(res.headers.connection, 'close');
  const [error] = served.clientErrors;
  assert.ok(error instanceof ClientTimeoutError);
  assert.equal(error.code, 'CLIENT_TIMEOUT');
  assert.deepEqual(served.exchanges, []);
});

test('HttpServer closes an idle keep-alive connection after keepAliveMs without a word', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await client.read()).body, 'hello');
  const start = performance.now();
  await client.untilClosed();
  assert.ok(performance.now() - start >= OPTIONS.keepAliveMs - 2 * SWEEP_MS);
  assert.equal(client.text, '');
  assert.deepEqual(served.clientErrors, []);
});

test('HttpServer fails a request body that stops arriving with CLIENT_BODY after bodyTimeoutMs, and closes after the response', async (t) => {
  const served = await serve(t);
  const client = await RawClient.open(t, served.port);
  const start = performance.now();
  client.write('POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
  const res = await client.read();
  assert.ok(performance.now() - start >= OPTIONS.bodyTimeoutMs - 2 * SWEEP_MS);
  assert.equal(res.body, 'body-error:CLIENT_BODY');
  assert.equal(res.headers.connection, 'close');
  await client.untilClosed();
  const [error] = served.bodyErrors;
  assert.ok(error instanceof ClientBodyError);
  assert.equal(error.code, 'CLIENT_BODY');
});

test('HttpServer closes after answering a request whose body was not read, and the response arrives whole (lingering close)', async (t) => {
  const served = await serve(t);
  const small = await RawClient.open(t, served.port);
  small.write('POST /ignore-body HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
  const res = await small.read();
  assert.equal(res.body, 'ignored');
  assert.equal(res.headers.connection, 'close');
  await small.untilClosed();

  // The client goes on sending while the response is written: a reset would lose the response.
  const big = await RawClient.open(t, served.port);
  big.write('POST /ignore-body-big HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000\r\n\r\n');
  big.write(bytes(1_000_000, 8));
  const bigRes = await big.read();
  assert.equal(bigRes.headers.connection, 'close');
  assert.ok(bigRes.body === latin1(bytes(200_000, 7)));
  await big.untilClosed();
});
