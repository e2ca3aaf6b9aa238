/**
 * Replaying WebSocket upgrades (spec §1.3.10; docs/replay.md "WebSockets"): the replaying app
 * answers the upgrade request with `fly-replay` instead of accepting it, and the target accepts
 * the upgrade. The decision is made before any `101` reaches the client.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { rawRequest, startBackend, startNode, type Backend } from '../harness/index.ts';

function app(name: string, backend: Backend, region = 'iad'): string {
  return `[[apps]]\nname = "${name}"\nhostnames = ["${name}.test"]\n  [apps.http_service]\n  internal_port = 8080\n  [[apps.machines]]\n  region = "${region}"\n  address = "${backend.address}"\n`;
}

/** replayingRouter answers every upgrade request with a replay and never upgrades. */
async function replayingRouter(t: TestContext, head: (req: IncomingMessage) => string) {
  const router = await startBackend(t, (_req, res) => res.writeHead(404).end());
  router.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    router.requests.push(req);
    socket.end(head(req));
  });
  return router;
}

/** wsTarget accepts WebSockets, greets with the replay headers it was sent, and echoes. */
async function wsTarget(t: TestContext) {
  const target = await startBackend(t, (_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server: target.server });
  t.after(() => wss.close());
  wss.on('connection', (socket, req) => {
    socket.send(JSON.stringify({ src: req.headers['fly-replay-src'] ?? null, url: req.url, token: req.headers['x-token'] ?? null }));
    socket.on('message', (data) => socket.send(`echo ${data}`));
  });
  return target;
}

/**
 * clients tracks a test's WebSockets and closes them after it. Call it before startNode: hooks
 * run in the order they were added, and a node does not finish stopping while a proxied
 * WebSocket is open.
 */
function clients(t: TestContext): WebSocket[] {
  const list: WebSocket[] = [];
  t.after(() => {
    for (const client of list) client.terminate();
  });
  return list;
}

async function open(list: WebSocket[], port: number, host: string, path = '/socket?room=1') {
  const client = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host, 'x-token': 'abc' } });
  list.push(client);
  const messages: string[] = [];
  client.on('message', (data) => messages.push(String(data)));
  await once(client, 'open');
  return { client, messages };
}

test('a WebSocket upgrade answered with fly-replay is accepted by the replay target', async (t) => {
  const sockets = clients(t);
  const router = await replayingRouter(t, () => 'HTTP/1.1 409 Conflict\r\nfly-replay: app=target;state=ws\r\ncontent-length: 7\r\n\r\nreplay!');
  const target = await wsTarget(t);
  const node = await startNode(t, app('router', router) + app('target', target));
  const { client, messages } = await open(sockets, node.port(), 'router.test');
  while (messages.length < 1) await once(client, 'message');
  const hello = JSON.parse(messages[0]);
  assert.match(String(hello.src), /^instance=[^;]+;region=iad;t=\d{16};state=ws$/);
  assert.equal(hello.url, '/socket?room=1');
  assert.equal(hello.token, 'abc');
  client.send('ping');
  while (messages.length < 2) await once(client, 'message');
  assert.equal(messages[1], 'echo ping');
  assert.equal(router.requests.length, 1);
});

test('a WebSocket upgrade can be replayed with a JSON replay body', async (t) => {
  const sockets = clients(t);
  const body = JSON.stringify({ app: 'target', transform: { path: '/moved' } });
  const router = await replayingRouter(
    t,
    () => `HTTP/1.1 200 OK\r\ncontent-type: application/vnd.fly.replay+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  const target = await wsTarget(t);
  const node = await startNode(t, app('router', router) + app('target', target));
  const { client, messages } = await open(sockets, node.port(), 'router.test');
  while (messages.length < 1) await once(client, 'message');
  assert.equal(JSON.parse(messages[0]).url, '/moved?room=1');
});

test('a WebSocket upgrade can be replayed with a chunked JSON replay body', async (t) => {
  const sockets = clients(t);
  const body = JSON.stringify({ app: 'target', state: 'chunked' });
  const router = await startBackend(t, (_req, res) => res.writeHead(404).end());
  router.server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/vnd.fly.replay+json\r\ntransfer-encoding: chunked\r\n\r\n');
    const half = Math.floor(body.length / 2);
    socket.write(`${half.toString(16)}\r\n${body.slice(0, half)}\r\n`);
    socket.end(`${(body.length - half).toString(16)}\r\n${body.slice(half)}\r\n0\r\n\r\n`);
  });
  const target = await wsTarget(t);
  const node = await startNode(t, app('router', router) + app('target', target));
  const { client, messages } = await open(sockets, node.port(), 'router.test');
  while (messages.length < 1) await once(client, 'message');
  assert.match(String(JSON.parse(messages[0]).src), /;state=chunked$/);
});

test('a WebSocket upgrade replayed to a region goes to the machine there', async (t) => {
  const sockets = clients(t);
  const router = await replayingRouter(t, () => 'HTTP/1.1 307 Temporary Redirect\r\nfly-replay: region=sjc\r\ncontent-length: 0\r\n\r\n');
  const target = await wsTarget(t);
  const node = await startNode(t, `region = "iad"\n[regions]\niad = 0\nsjc = 62\n` + app('router', router).replace(/  \[\[apps\.machines\]\][\s\S]*$/, '') +
    `  [[apps.machines]]\n  region = "iad"\n  address = "${router.address}"\n  [[apps.machines]]\n  region = "sjc"\n  address = "${target.address}"\n`);
  const { client, messages } = await open(sockets, node.port(), 'router.test');
  while (messages.length < 1) await once(client, 'message');
  assert.match(String(JSON.parse(messages[0]).src), /;region=iad;/);
});

test('a replayed WebSocket upgrade to a stopped machine starts it', async (t) => {
  const sockets = clients(t);
  const router = await replayingRouter(t, () => 'HTTP/1.1 409 Conflict\r\nfly-replay: app=target\r\ncontent-length: 0\r\n\r\n');
  const target = await wsTarget(t);
  const node = await startNode(t, app('router', router) + app('target', target));
  const [machine] = node.node.catalog.machines('target');
  await node.node.supervisor.stop(machine.id);
  const { client, messages } = await open(sockets, node.port(), 'router.test');
  while (messages.length < 1) await once(client, 'message');
  assert.equal(node.node.catalog.get(machine.id)?.state, 'started');
});

test('a replayed WebSocket upgrade to an unknown app is answered 502 PA04 before any upgrade', async (t) => {
  const router = await replayingRouter(t, () => 'HTTP/1.1 409 Conflict\r\nfly-replay: app=nobody\r\ncontent-length: 0\r\n\r\n');
  const node = await startNode(t, app('router', router));
  const text = await rawRequest(
    node.port(),
    'GET /socket HTTP/1.1\r\nhost: router.test\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  assert.match(text, /^HTTP\/1\.1 502 /);
  assert.match(text, /\r\nricochet-error: PA04\r\n/i);
  assert.doesNotMatch(text, /fly-replay/i);
});

test('a WebSocket upgrade replayed too many times is answered 508 PA02', async (t) => {
  const router = await replayingRouter(t, () => 'HTTP/1.1 409 Conflict\r\nfly-replay: app=router\r\ncontent-length: 0\r\n\r\n');
  const node = await startNode(t, app('router', router));
  const text = await rawRequest(
    node.port(),
    'GET / HTTP/1.1\r\nhost: router.test\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  assert.match(text, /^HTTP\/1\.1 508 /);
  assert.equal(router.requests.length, 11);
});
