import assert from 'node:assert/strict';
import { once } from 'node:events';
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
