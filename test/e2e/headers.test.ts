import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncomingHttpHeaders } from 'node:http';
import { rawRequest, send, startBackend, startNode } from '../harness/index.ts';

async function echoNode(t: import('node:test').TestContext) {
  let last: IncomingHttpHeaders = {};
  let lastRaw: string[] = [];
  const backend = await startBackend(t, (req, res) => {
    last = req.headers;
    lastRaw = req.rawHeaders;
    res.setHeader('x-app', 'yes');
    res.end('ok');
  });
  const node = await startNode(
    t,
    `region = "ams"
[[apps]]
name = "echo"
hostnames = ["echo.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  return { ...node, backend, seen: () => last, seenRaw: () => lastRaw };
}

test('forwarding headers: Fly-Client-IP, Fly-Forwarded-Port, Fly-Region and the X-Forwarded set reach the app', async (t) => {
  const { url, seen } = await echoNode(t);
  await send(url(), { host: 'echo.test' });
  const h = seen();
  assert.equal(h['fly-client-ip'], '127.0.0.1');
  assert.equal(h['fly-forwarded-port'], '80');
  assert.equal(h['fly-region'], 'ams');
  assert.equal(h['fly-forwarded-proto'], 'http');
  assert.equal(h['fly-forwarded-ssl'], 'off');
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(h['x-forwarded-port'], '80');
  assert.equal(h['x-forwarded-ssl'], 'off');
  assert.equal(h['via'], '1.1 ricochet');
  assert.match(String(h['x-request-start']), /^t=\d{16}$/);
  assert.match(String(h['fly-request-id']), /^[0-9A-HJKMNP-TV-Z]{26}-ams$/);
});

test('forwarding headers: X-Forwarded-For and Via are appended to, X-Forwarded-Port passes through', async (t) => {
  const { url, seen } = await echoNode(t);
  await send(url(), {
    host: 'echo.test',
    headers: { 'x-forwarded-for': '203.0.113.9', via: '1.1 edge', 'x-forwarded-port': '8443', 'x-forwarded-proto': 'https' },
  });
  const h = seen();
  assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(h['via'], '1.1 edge, 1.1 ricochet');
  assert.equal(h['x-forwarded-port'], '8443');
  assert.equal(h['x-forwarded-proto'], 'http', 'a client cannot claim https');
});

test('fly-request-id is the same on the request to the app and on the response', async (t) => {
  const { url, seen } = await echoNode(t);
  const res = await send(url(), { host: 'echo.test' });
  assert.equal(res.headers['fly-request-id'], seen()['fly-request-id']);
  assert.equal(res.headers['via'], '1.1 ricochet');
  assert.equal(res.headers['x-app'], 'yes');
});

test('client fly-* headers never reach the app, spoofed fly-replay-src included', async (t) => {
  const { url, seen } = await echoNode(t);
  await send(url(), {
    host: 'echo.test',
    headers: {
      'fly-replay-src': 'instance=evil;region=xxx;t=1;state=admin',
      'fly-replay-failed': 'reason=timeout',
      'fly-replay-cache-status': 'hit',
      'fly-client-ip': '6.6.6.6',
      'fly-region': 'zzz',
      'fly-prefer-region': 'iad',
      'fly-preferred-instance-unavailable': 'x',
      'fly-anything': 'y',
    },
  });
  const h = seen();
  assert.equal(h['fly-replay-src'], undefined);
  assert.equal(h['fly-replay-failed'], undefined);
  assert.equal(h['fly-replay-cache-status'], undefined);
  assert.equal(h['fly-prefer-region'], undefined);
  assert.equal(h['fly-preferred-instance-unavailable'], undefined);
  assert.equal(h['fly-anything'], undefined);
  assert.equal(h['fly-client-ip'], '127.0.0.1');
  assert.equal(h['fly-region'], 'ams');
});

test('hop-by-hop headers and the names Connection lists are stripped', async (t) => {
  const { port, seen } = await echoNode(t);
  await rawRequest(
    port(),
    'GET / HTTP/1.1\r\nHost: echo.test\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\n' +
      'X-Secret: hidden\r\nTE: trailers\r\nProxy-Authorization: Basic x\r\nX-Kept: yes\r\n\r\n',
    /\r\n\r\nok$/,
  );
  const h = seen();
  assert.equal(h['x-secret'], undefined);
  assert.equal(h['keep-alive'], undefined);
  assert.equal(h['te'], undefined);
  assert.equal(h['proxy-authorization'], undefined);
  assert.equal(h['x-kept'], 'yes');
});
