import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { freePort, send, startBackend, startNode } from '../harness/index.ts';


test('a refused connection tries the next machine', async (t) => {
  const alive = await startBackend(t, (_req, res) => res.end('alive'));
  const { url, node } = await startNode(
    t,
    `[[apps]]
name = "flaky"
hostnames = ["flaky.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${alive.address}"
  [[apps.machines]]
  address = "${alive.address}"
`,
    { random: () => 0 },
  );
  // Point one machine at a port nobody listens on, as if its process had just died.
  const [dead] = node.catalog.machines('flaky');
  const port = await freePort();
  node.catalog.update(dead.id, { runtime: { host: '127.0.0.1', ports: { '8080': port } } });
  for (let i = 0; i < 4; i++) {
    const res = await send(url(), { host: 'flaky.test' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'alive');
  }
});

test('answers 502 PR03 when every machine refuses the connection', async (t) => {
  const alive = await startBackend(t, (_req, res) => res.end('alive'));
  const { url, node } = await startNode(
    t,
    `[[apps]]
name = "down"
hostnames = ["down.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${alive.address}"
`,
  );
  const [machine] = node.catalog.machines('down');
  node.catalog.update(machine.id, { runtime: { host: '127.0.0.1', ports: { '8080': await freePort() } } });
  const res = await send(url(), { host: 'down.test' });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PR03');
});

test('answers 504 PU05 when the machine does not answer in time', async (t) => {
  const slow = await startBackend(t, () => {
    /* never answers */
  });
  const { url } = await startNode(
    t,
    `[proxy]
response_timeout_ms = 200
[[apps]]
name = "slow"
hostnames = ["slow.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${slow.address}"
`,
  );
  const res = await send(url(), { host: 'slow.test' });
  assert.equal(res.status, 504);
  assert.equal(res.headers['ricochet-error'], 'PU05');
});

test('answers 503 PM06 when no machine is started and autostart is off', async (t) => {
  const alive = await startBackend(t, (_req, res) => res.end('alive'));
  const { url, node } = await startNode(
    t,
    `[[apps]]
name = "idle"
hostnames = ["idle.test"]
  [apps.http_service]
  internal_port = 8080
  auto_start_machines = false
  [[apps.machines]]
  address = "${alive.address}"
`,
  );
  const [machine] = node.catalog.machines('idle');
  await node.supervisor.stop(machine.id);
  const res = await send(url(), { host: 'idle.test' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['ricochet-error'], 'PM06');
});
