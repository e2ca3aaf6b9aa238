/**
 * Client routing headers on the first hop (spec §4; docs/replay.md "Client routing headers"):
 * `fly-prefer-region`, `fly-force-region`, `fly-prefer-instance-id`, `fly-force-instance-id`.
 * None of them reaches the app.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { send, startBackend, startNode, type Backend, type TestNode } from '../harness/index.ts';

const SETTINGS = `region = "iad"
[regions]
iad = 0
sjc = 62
ams = 80
`;

function named(name: string) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    let length = 0;
    for await (const chunk of req) length += (chunk as Buffer).length;
    const fly = Object.keys(req.headers).filter((h) => /^fly-(prefer|force|replay-cache-control)/.test(h));
    res.end(JSON.stringify({ name, length, fly, unavailable: req.headers['fly-preferred-instance-unavailable'] ?? null }));
  };
}

/** threeRegions runs app "web" with one machine in iad (nearest) and one in sjc. */
async function threeRegions(t: TestContext): Promise<{ node: TestNode; iad: Backend; sjc: Backend }> {
  const iad = await startBackend(t, named('iad'));
  const sjc = await startBackend(t, named('sjc'));
  const toml =
    SETTINGS +
    `[[apps]]\nname = "web"\nhostnames = ["web.test"]\n  [apps.http_service]\n  internal_port = 8080\n` +
    `  [[apps.machines]]\n  region = "iad"\n  address = "${iad.address}"\n` +
    `  [[apps.machines]]\n  region = "sjc"\n  address = "${sjc.address}"\n`;
  return { node: await startNode(t, toml), iad, sjc };
}

async function ask(node: TestNode, headers: Record<string, string>, body?: Buffer) {
  const res = await send(node.url(), { host: 'web.test', headers, method: body === undefined ? 'GET' : 'POST', body });
  return { res, got: res.status === 200 ? JSON.parse(res.body) : null };
}

function idIn(node: TestNode, region: string): string {
  return node.node.catalog.machines('web').find((m) => m.region === region)!.id;
}

test('without routing headers the nearest region serves the request', async (t) => {
  const { node } = await threeRegions(t);
  assert.equal((await ask(node, {})).got.name, 'iad');
});

test('fly-prefer-region routes to the first listed region that has a machine', async (t) => {
  const { node } = await threeRegions(t);
  assert.equal((await ask(node, { 'fly-prefer-region': 'sjc' })).got.name, 'sjc');
  assert.equal((await ask(node, { 'fly-prefer-region': 'ams,sjc,iad' })).got.name, 'sjc');
  assert.equal((await ask(node, { 'fly-prefer-region': 'SJC' })).got.name, 'sjc', 'case-insensitive');
});

test('fly-prefer-region falls back to the nearest region with a machine', async (t) => {
  const { node } = await threeRegions(t);
  assert.equal((await ask(node, { 'fly-prefer-region': 'ams' })).got.name, 'iad');
});

test('fly-prefer-region is not subject to the replay body limit', async (t) => {
  const { node } = await threeRegions(t);
  const { got } = await ask(node, { 'fly-prefer-region': 'sjc' }, randomBytes(3 * 1024 * 1024));
  assert.equal(got.name, 'sjc');
  assert.equal(got.length, 3 * 1024 * 1024);
});

test('fly-force-region routes only to the listed regions', async (t) => {
  const { node } = await threeRegions(t);
  assert.equal((await ask(node, { 'fly-force-region': 'sjc' })).got.name, 'sjc');
  assert.equal((await ask(node, { 'fly-force-region': 'ams,sjc' })).got.name, 'sjc');
});

test('fly-force-region naming no region with a machine is answered 503 PR04', async (t) => {
  const { node, iad, sjc } = await threeRegions(t);
  const { res } = await ask(node, { 'fly-force-region': 'ams' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['ricochet-error'], 'PR04');
  assert.equal(iad.requests.length + sjc.requests.length, 0);
});

test('fly-force-region wins over fly-prefer-region', async (t) => {
  const { node } = await threeRegions(t);
  assert.equal((await ask(node, { 'fly-force-region': 'sjc', 'fly-prefer-region': 'iad' })).got.name, 'sjc');
});

test('fly-prefer-instance-id routes to that machine', async (t) => {
  const { node } = await threeRegions(t);
  const { got } = await ask(node, { 'fly-prefer-instance-id': idIn(node, 'sjc') });
  assert.equal(got.name, 'sjc');
  assert.equal(got.unavailable, null);
});

test('fly-prefer-instance-id naming no machine falls back and sets fly-preferred-instance-unavailable', async (t) => {
  const { node } = await threeRegions(t);
  const { got } = await ask(node, { 'fly-prefer-instance-id': 'ffffffffffffff' });
  assert.equal(got.name, 'iad');
  assert.equal(got.unavailable, 'ffffffffffffff');
});

test('fly-prefer-instance-id for a machine that refuses connections falls back to another machine', async (t) => {
  const { node } = await threeRegions(t);
  const sjcId = idIn(node, 'sjc');
  const probe = await startBackend(t, () => {});
  await new Promise<void>((resolve) => probe.server.close(() => resolve()));
  node.node.catalog.update(sjcId, { runtime: { host: '127.0.0.1', ports: { '8080': probe.port } } });
  const { got } = await ask(node, { 'fly-prefer-instance-id': sjcId });
  assert.equal(got.name, 'iad');
  assert.equal(got.unavailable, sjcId);
});

test('fly-force-instance-id routes only to that machine', async (t) => {
  const { node } = await threeRegions(t);
  for (let i = 0; i < 3; i++) assert.equal((await ask(node, { 'fly-force-instance-id': idIn(node, 'sjc') })).got.name, 'sjc');
});

test('fly-force-instance-id naming no machine of the app is answered 503 PR02', async (t) => {
  const { node, iad, sjc } = await threeRegions(t);
  const { res } = await ask(node, { 'fly-force-instance-id': 'ffffffffffffff' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['ricochet-error'], 'PR02');
  assert.equal(iad.requests.length + sjc.requests.length, 0);
});

test('fly-force-instance-id for a machine that refuses connections is retried, then answered 502 PR03', async (t) => {
  const { node, iad } = await threeRegions(t);
  const sjcId = idIn(node, 'sjc');
  const probe = await startBackend(t, () => {});
  await new Promise<void>((resolve) => probe.server.close(() => resolve()));
  node.node.catalog.update(sjcId, { runtime: { host: '127.0.0.1', ports: { '8080': probe.port } } });
  const { res } = await ask(node, { 'fly-force-instance-id': sjcId });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PR03');
  assert.equal(iad.requests.length, 0, 'no fallback to another machine');
  const retries = node.logs.find((line) => line.machine === sjcId && line.msg === 'machine unreachable, trying another');
  assert.equal(retries.length, 5, 'one try per [proxy] max_attempts');
});

test('fly-force-instance-id wins over fly-prefer-instance-id', async (t) => {
  const { node } = await threeRegions(t);
  const { got } = await ask(node, { 'fly-force-instance-id': idIn(node, 'sjc'), 'fly-prefer-instance-id': idIn(node, 'iad') });
  assert.equal(got.name, 'sjc');
});

test('fly-force-instance-id outside fly-force-region is answered 503 PR02', async (t) => {
  const { node } = await threeRegions(t);
  const { res } = await ask(node, { 'fly-force-instance-id': idIn(node, 'sjc'), 'fly-force-region': 'iad' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['ricochet-error'], 'PR02');
});

test('fly-force-instance-id starts a stopped machine', async (t) => {
  const { node } = await threeRegions(t);
  const sjcId = idIn(node, 'sjc');
  await node.node.supervisor.stop(sjcId);
  assert.equal((await ask(node, { 'fly-force-instance-id': sjcId })).got.name, 'sjc');
  assert.equal(node.node.catalog.get(sjcId)?.state, 'started');
});

test('client routing headers never reach the app', async (t) => {
  const { node } = await threeRegions(t);
  const { got } = await ask(node, {
    'fly-prefer-region': 'sjc',
    'fly-force-region': 'sjc',
    'fly-prefer-instance-id': idIn(node, 'sjc'),
    'fly-force-instance-id': idIn(node, 'sjc'),
    'fly-replay-cache-control': 'skip',
  });
  assert.deepEqual(got.fly, []);
});

test('client routing headers aim only the first hop: a replay decides the next one', async (t) => {
  const router = await startBackend(t, (_req, res) => res.writeHead(409, { 'fly-replay': 'app=web;region=iad' }).end());
  const iad = await startBackend(t, named('iad'));
  const sjc = await startBackend(t, named('sjc'));
  const toml =
    SETTINGS +
    `[[apps]]\nname = "router"\nhostnames = ["router.test"]\n  [apps.http_service]\n  internal_port = 8080\n  [[apps.machines]]\n  region = "sjc"\n  address = "${router.address}"\n` +
    `[[apps]]\nname = "web"\n  [apps.http_service]\n  internal_port = 8080\n` +
    `  [[apps.machines]]\n  region = "iad"\n  address = "${iad.address}"\n  [[apps.machines]]\n  region = "sjc"\n  address = "${sjc.address}"\n`;
  const node = await startNode(t, toml);
  const res = await send(node.url(), { host: 'router.test', headers: { 'fly-force-region': 'sjc' } });
  assert.equal(JSON.parse(res.body).name, 'iad');
});
