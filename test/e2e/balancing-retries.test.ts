/**
 * Retries across candidates (spec §8.2.7), cordons (spec §8.2.10) and WebSocket load on the
 * wire: connection failures move a request to the next machine, bounded by `max_attempts`;
 * once a request may have reached a machine, only an idempotent one is tried again.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { freePort, send, startBackend, startNode } from '../harness/index.ts';


/** twoRegions writes an app with one machine in iad (tried first) and one in sjc. */
function twoRegions(name: string, first: string, second: string, extra = ''): string {
  return `region = "iad"
${extra}
[regions]
iad = 0
sjc = 62
[[apps]]
name = "${name}"
hostnames = ["${name}.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  region = "iad"
  address = "${first}"
  [[apps.machines]]
  region = "sjc"
  address = "${second}"
`;
}

test('a refused connection moves the request, body and all, to the next candidate', async (t) => {
  const doomed = await startBackend(t, (_req, res) => res.end('doomed'));
  const alive = await startBackend(t, (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => res.end(`alive got ${body}`));
  });
  const { url, node, logs } = await startNode(t, twoRegions('flaky', doomed.address, alive.address));
  const local = node.catalog.machines('flaky').find((m) => m.region === 'iad')!;
  node.catalog.update(local.id, { runtime: { host: '127.0.0.1', ports: { '8080': await freePort() } } });
  const res = await send(url(), { host: 'flaky.test', method: 'POST', body: 'payload' });
  assert.equal(res.status, 200);
  assert.equal(res.body, 'alive got payload');
  const retry = logs.find((l) => l.msg === 'machine unreachable, trying another');
  assert.equal(retry.length, 1);
  assert.equal(retry[0].machine, local.id);
  assert.equal(retry[0].code, 'PC01');
});

test('retries stop after max_attempts machines with 502 PR03', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('never'));
  const { url, node, logs } = await startNode(
    t,
    `[proxy]
max_attempts = 2
[[apps]]
name = "down"
hostnames = ["down.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  count = 3
  address = "${backend.address}"
`,
  );
  for (const machine of node.catalog.machines('down')) {
    node.catalog.update(machine.id, { runtime: { host: '127.0.0.1', ports: { '8080': await freePort() } } });
  }
  const res = await send(url(), { host: 'down.test' });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PR03');
  assert.equal(logs.find((l) => l.msg === 'machine unreachable, trying another').length, 2);
  assert.equal(backend.requests.length, 0);
});

test('a reset after the request was sent retries an idempotent GET', async (t) => {
  const resets = await startBackend(t, (req) => req.socket.destroy());
  const alive = await startBackend(t, (_req, res) => res.end('alive'));
  const { url } = await startNode(t, twoRegions('reset-get', resets.address, alive.address));
  const res = await send(url(), { host: 'reset-get.test' });
  assert.equal(res.status, 200);
  assert.equal(res.body, 'alive');
  assert.equal(resets.requests.length, 1);
});

test('a reset after the request was sent fails a POST with 502 PC03 and never retries it', async (t) => {
  const resets = await startBackend(t, (req) => req.socket.destroy());
  const alive = await startBackend(t, (_req, res) => res.end('alive'));
  const { url } = await startNode(t, twoRegions('reset-post', resets.address, alive.address));
  const res = await send(url(), { host: 'reset-post.test', method: 'POST', body: 'charge the card' });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PC03');
  assert.equal(alive.requests.length, 0);
});

test('a cordoned machine gets no request while an uncordoned one exists', async (t) => {
  const cordoned = await startBackend(t, (_req, res) => res.end('cordoned'));
  const open = await startBackend(t, (_req, res) => res.end('open'));
  const { url, node } = await startNode(t, twoRegions('cordon', cordoned.address, open.address));
  const local = node.catalog.machines('cordon').find((m) => m.region === 'iad')!;
  assert.equal((await send(url(), { host: 'cordon.test' })).body, 'cordoned');
  node.catalog.update(local.id, { cordoned: true });
  for (let i = 0; i < 3; i++) assert.equal((await send(url(), { host: 'cordon.test' })).body, 'open');
  node.catalog.update(local.id, { cordoned: false });
  assert.equal((await send(url(), { host: 'cordon.test' })).body, 'cordoned');
});

test('an upgraded connection counts against the hard limit for its whole life', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('plain'));
  backend.server.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    // As a WebSocket server does: the client is gone, so is the connection.
    socket.on('end', () => socket.end());
  });
  const { url, port, node } = await startNode(
    t,
    `[proxy]
queue_max_wait_ms = 20
[[apps]]
name = "ws"
hostnames = ["ws.test"]
  [apps.http_service]
  internal_port = 8080
    [apps.http_service.concurrency]
    type = "connections"
    hard_limit = 1
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  const socket = connect(port(), '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.write('GET /socket HTTP/1.1\r\nhost: ws.test\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
  const [head] = (await once(socket, 'data')) as [Buffer];
  assert.match(head.toString(), /^HTTP\/1\.1 101/);
  socket.write('ping');
  assert.equal(((await once(socket, 'data')) as [Buffer])[0].toString(), 'ping');

  const [machine] = node.catalog.machines('ws');
  assert.equal(node.runtime.load.load(machine.id), 1);
  const refused = await send(url(), { host: 'ws.test' });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['ricochet-error'], 'PL02');

  const idle = node.runtime.load.idle(machine.id, 5_000);
  socket.end();
  assert.equal(await idle, true);
  assert.equal((await send(url(), { host: 'ws.test' })).body, 'plain');
});
