import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, writeLogLine } from '../../src/log.ts';
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

test('a client that goes away mid-request is logged as RC03, not as a machine failure', async (t) => {
  let answered = false;
  const backend = await startBackend(t, (req) => {
    // Never answers: the client gives up first.
    req.on('close', () => (answered = true));
  });
  const { port, logs } = await startNode(
    t,
    `[[apps]]
name = "slow"
hostnames = ["slow.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  const socket = connect(port(), '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET /wait HTTP/1.1\r\nhost: slow.test\r\n\r\n');
  while (backend.requests.length === 0) await tick();
  socket.destroy();
  const line = await logs.waitFor((l) => l.msg === 'request' && l.path === '/wait');
  assert.equal(line.code, 'RC03');
  assert.equal(logs.find((l) => l.msg === 'request failed' && Number(l.level) >= 40).length, 0);
  while (!answered) await tick();
});

test('access log: a batched logger writes every line once and in order, and close() writes what waits', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fd = openSync(join(dir, 'out.log'), 'w');
  t.after(() => closeSync(fd));
  const { logger, close } = createLogger('info', { dest: fd });
  logger.info({ n: 0 }, 'before');
  // Past the 16 KiB batch bound, so one batch goes out before close() and the rest waits.
  const lines = Array.from({ length: 200 }, (_, i) => `{"level":30,"n":${i + 1},"pad":"${'x'.repeat(100)}","msg":"request"}\n`);
  for (const line of lines) writeLogLine(logger, line);
  await close();
  const written = readFileSync(join(dir, 'out.log'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(
    written.map((l) => l.n),
    Array.from({ length: 201 }, (_, i) => i),
  );
  assert.equal(written[0].msg, 'before');
});
