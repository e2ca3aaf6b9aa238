/**
 * Tests of how HttpServer (src/downstream/http-server.ts) lets go of connections: onAbort when the
 * client leaves before its response, close() draining busy connections, and destroyConnections().
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import type { ClientExchange } from '../../src/downstream/client-exchange.ts';
import { ClientBodyError } from '../../src/downstream/request-body.ts';
import {
  LONG_KEEPALIVE,
  RawClient,
  answer,
  closed,
  readBody,
  route,
  serve,
  type Handler,
} from './http-test-client.ts';

test('HttpServer calls onAbort, and fails the body, when the client ends or drops its connection before the response', async (t) => {
  for (const how of ['end', 'destroy'] as const) {
    await t.test(`when the client calls ${how}()`, async (t) => {
      const aborted = Promise.withResolvers<void>();
      const bodyError = Promise.withResolvers<unknown>();
      const called = Promise.withResolvers<ClientExchange>();
      const served = await serve(t, (exchange) => {
        exchange.onAbort = () => aborted.resolve();
        readBody(exchange).then(() => bodyError.resolve(null), (error: unknown) => bodyError.resolve(error));
        called.resolve(exchange);
      });
      const client = await RawClient.open(t, served.port);
      client.write('POST /hang HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
      const exchange = await called.promise;
      client.socket[how]();
      await aborted.promise;
      const error = await bodyError.promise;
      assert.ok(error instanceof ClientBodyError);
      assert.equal(error.code, 'CLIENT_BODY');
      await closed(exchange);
      assert.equal(exchange.finished, false);
    });
  }
});

test('HttpServer does not call onAbort when the client goes away after its response', async (t) => {
  let aborts = 0;
  const served = await serve(t, (exchange, served) => {
    exchange.onAbort = () => aborts++;
    return route(exchange, served);
  });
  const client = await RawClient.open(t, served.port);
  client.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await client.read()).body, 'hello');
  client.socket.destroy();
  await closed(served.exchanges[0]);
  assert.equal(aborts, 0);
});

/** holdingHandler answers /hold only when `go` resolves, after writing the head and a first piece. */
function holdingHandler(called: PromiseWithResolvers<ClientExchange>, go: Promise<void>): Handler {
  return async (exchange, served) => {
    if (exchange.head.url === '/hold') {
      called.resolve(exchange);
      await go;
      answer(exchange, 200, 'held');
    } else if (exchange.head.url === '/hold-streaming') {
      exchange.writeHead(200, []);
      exchange.write(Buffer.from('part1'));
      called.resolve(exchange);
      await go;
      exchange.end('part2');
    } else {
      return route(exchange, served);
    }
  };
}

test('HttpServer close() closes idle connections at once, busy ones after their response, and refuses new ones', { timeout: 5_000 }, async (t) => {
  const called = Promise.withResolvers<ClientExchange>();
  const go = Promise.withResolvers<void>();
  const served = await serve(t, holdingHandler(called, go.promise), LONG_KEEPALIVE);
  const silent = await RawClient.open(t, served.port);
  const idle = await RawClient.open(t, served.port);
  idle.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal((await idle.read()).body, 'hello');
  const busy = await RawClient.open(t, served.port);
  busy.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
  await called.promise;

  let done = false;
  const closing = served.server.close().then(() => (done = true));
  await silent.untilClosed();
  await idle.untilClosed();
  assert.equal(busy.closed, false);
  assert.equal(done, false);
  const refused = net.connect(served.port, '127.0.0.1');
  const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(error.code, 'ECONNREFUSED');

  go.resolve();
  const res = await busy.read();
  assert.equal(res.body, 'held');
  assert.equal(res.headers.connection, 'close');
  await busy.untilClosed();
  await closing;
});

test('HttpServer close() during a response already under way closes the connection when it ends', { timeout: 5_000 }, async (t) => {
  const called = Promise.withResolvers<ClientExchange>();
  const go = Promise.withResolvers<void>();
  const served = await serve(t, holdingHandler(called, go.promise), LONG_KEEPALIVE);
  const client = await RawClient.open(t, served.port);
  client.write('GET /hold-streaming HTTP/1.1\r\nHost: a\r\n\r\n');
  await called.promise;
  await client.until(/part1/);
  const closing = served.server.close();
  go.resolve();
  const res = await client.read();
  assert.equal(res.body, 'part1part2');
  await client.untilClosed();
  await closing;
});

test('HttpServer destroyConnections() resets idle, busy and upgraded connections', async (t) => {
  const called = Promise.withResolvers<ClientExchange>();
  const upgradedCalled = Promise.withResolvers<ClientExchange>();
  const aborted = Promise.withResolvers<void>();
  const served = await serve(t, (exchange, served) => {
    if (exchange.head.upgrade) {
      upgradedCalled.resolve(exchange);
      return;
    }
    if (exchange.head.url !== '/hold') return route(exchange, served);
    exchange.onAbort = () => aborted.resolve();
    called.resolve(exchange);
  }, LONG_KEEPALIVE);
  const idle = await RawClient.open(t, served.port);
  idle.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  await idle.read();
  const busy = await RawClient.open(t, served.port);
  busy.write('GET /hold HTTP/1.1\r\nHost: a\r\n\r\n');
  const upgraded = await RawClient.open(t, served.port);
  upgraded.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n');
  await called.promise;
  await upgradedCalled.promise;
  assert.equal(served.server.busy, 2);

  served.server.destroyConnections();
  await Promise.all([idle.untilClosed(), busy.untilClosed(), upgraded.untilClosed(), aborted.promise]);
  assert.equal(busy.text, '');
  assert.equal(upgraded.text, '');
});
