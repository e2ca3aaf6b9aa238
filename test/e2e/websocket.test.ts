import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { test } from 'node:test';
import { WebSocketServer, WebSocket } from 'ws';
import { startBackend, startNode } from '../harness/index.ts';

test('a WebSocket passes through both ways and closing one end closes the other', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server: backend.server });
  const serverClosed = new Promise<void>((resolve) => {
    wss.on('connection', (socket, req) => {
      socket.send(`hello ${req.headers['fly-region']}`);
      socket.on('message', (data) => socket.send(`echo ${data}`));
      socket.on('close', () => resolve());
    });
  });
  const { port, node } = await startNode(
    t,
    `[[apps]]
name = "ws"
hostnames = ["ws.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  const client = new WebSocket(`ws://127.0.0.1:${port()}/socket`, { headers: { host: 'ws.test' } });
  const messages: string[] = [];
  client.on('message', (data) => messages.push(String(data)));
  await once(client, 'open');
  client.send('ping');
  while (messages.length < 2) await once(client, 'message');
  assert.deepEqual(messages, ['hello iad', 'echo ping']);
  const machine = node.catalog.machines('ws')[0];
  assert.equal(node.runtime.load.load(machine.id), 1, 'an open WebSocket counts as load for its whole life');
  client.close();
  await serverClosed;
  await once(client, 'close');
  wss.close();
});

test('shutdown closes an open WebSocket after the drain timeout instead of waiting for it forever', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server: backend.server });
  t.after(() => wss.close());
  wss.on('connection', (socket) => socket.send('hi'));
  const { port, node } = await startNode(
    t,
    `[proxy]
drain_timeout_ms = 100
[[apps]]
name = "ws"
hostnames = ["ws.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  const client = new WebSocket(`ws://127.0.0.1:${port()}/`, { headers: { host: 'ws.test' } });
  await once(client, 'message');
  const closed = once(client, 'close');
  await node.stop();
  await closed;
});

test('a client half-close ends the upgraded connection even when the machine ignores it', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('plain'));
  const machineSawEnd = new Promise<void>((resolve) => {
    backend.server.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: custom\r\n\r\n');
      // The node:http server allows half-open sockets: this machine never answers the client's
      // end, so only Ricochet closing its side ends the connection.
      socket.on('end', () => resolve());
    });
  });
  const { port, node } = await startNode(
    t,
    `[[apps]]
name = "half"
hostnames = ["half.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  const client = connect(port(), '127.0.0.1');
  await once(client, 'connect');
  client.write('GET / HTTP/1.1\r\nhost: half.test\r\nconnection: upgrade\r\nupgrade: custom\r\n\r\n');
  const [head] = (await once(client, 'data')) as [Buffer];
  assert.match(head.toString(), /^HTTP\/1\.1 101/);
  const clientClosed = once(client, 'close');
  client.end();
  await machineSawEnd;
  await clientClosed;
  const machine = node.catalog.machines('half')[0];
  while (node.runtime.load.load(machine.id) !== 0) await tick();
  assert.equal(node.runtime.load.load(machine.id), 0);
});
