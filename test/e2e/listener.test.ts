import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { send, startBackend, startNode } from '../harness/index.ts';

function servers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPServerWrap').length;
}

async function node(t: import('node:test').TestContext) {
  const backend = await startBackend(t, (_req, res) => res.end('ok'));
  return startNode(
    t,
    `[listen]
host = "127.0.0.1"
api = "127.0.0.1:0"
ports = { 80 = 0, 443 = 0, 7777 = 0 }
[[apps]]
name = "web"
hostnames = ["web.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
}

test('overlapping reconciles open a port once', async (t) => {
  const { node: n } = await node(t);
  await n.listeners.reconcile([80, 443]);
  const before = servers();
  await Promise.all([n.listeners.reconcile([80, 443, 7777]), n.listeners.reconcile([80, 443, 7777])]);
  assert.equal(servers(), before + 1);
  assert.equal(n.listeners.ports().filter((p) => p.public === 7777).length, 1);
});

test('a port taken out of service closes its idle keep-alive connections at once', async (t) => {
  const { node: n } = await node(t);
  const socket = connect(n.listeners.localPort(7777)!, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET / HTTP/1.1\r\nhost: web.test\r\n\r\n');
  await once(socket, 'data');
  const closed = once(socket, 'close');
  await n.listeners.reconcile([80, 443]);
  await closed;
  assert.equal(n.listeners.localPort(7777), undefined);
  await tick();
});

test('a port listed in [listen] ports is served even when no service declares it', async (t) => {
  const { node: n, url } = await node(t);
  const res = await send(url(7777), { host: 'web.test' });
  assert.equal(res.status, 404);
  assert.equal(res.headers['ricochet-error'], 'RC02');
  assert.ok(n.listeners.localPort(7777));
});
