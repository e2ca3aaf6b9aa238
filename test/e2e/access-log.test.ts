import assert from 'node:assert/strict';
import { test } from 'node:test';
import { send, startBackend, startNode } from '../harness/index.ts';

test('access log: one JSON line per request with id, method, host, path, status, app, machine, region and duration', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('ok'));
  const { url, logs, node } = await startNode(
    t,
    `[[apps]]
name = "logged"
hostnames = ["logged.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  region = "iad"
  address = "${backend.address}"
`,
  );
  const res = await send(url(), { host: 'logged.test', path: '/a/"quoted"?x=1' });
  const id = res.headers['fly-request-id'];
  const line = await logs.waitFor((l) => l.msg === 'request' && l.request === id);
  assert.equal(logs.find((l) => l.msg === 'request' && l.request === id).length, 1);
  assert.equal(line.level, 30);
  assert.match(String(line.time), /^\d{4}-\d\d-\d\dT/);
  assert.equal(line.method, 'GET');
  assert.equal(line.host, 'logged.test');
  assert.equal(line.path, '/a/%22quoted%22?x=1');
  assert.equal(line.port, 80);
  assert.equal(line.status, 200);
  assert.equal(line.app, 'logged');
  assert.equal(line.machine, node.catalog.machines('logged')[0].id);
  assert.equal(line.region, 'iad');
  assert.equal(typeof line.ms, 'number');
  assert.equal(line.code, undefined);
});

test('access log: an error line carries its code, and a replayed request lists its hops', async (t) => {
  const target = await startBackend(t, (_req, res) => res.end('target'));
  const router = await startBackend(t, (_req, res) => res.writeHead(409, { 'fly-replay': 'app=target' }).end());
  const { url, logs } = await startNode(
    t,
    `[[apps]]
name = "router"
hostnames = ["router.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${router.address}"
[[apps]]
name = "target"
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${target.address}"
`,
  );
  const missing = await send(url(), { host: 'nobody.test' });
  const error = await logs.waitFor((l) => l.msg === 'request' && l.request === missing.headers['fly-request-id']);
  assert.equal(error.code, 'RC01');
  assert.equal(error.status, 404);
  const replayed = await send(url(), { host: 'router.test' });
  const line = await logs.waitFor((l) => l.msg === 'request' && l.request === replayed.headers['fly-request-id']);
  assert.equal(line.app, 'target');
  assert.deepEqual(
    (line.hops as { app: string; status: number }[]).map((h) => [h.app, h.status]),
    [['router', 409], ['target', 200]],
  );
});
