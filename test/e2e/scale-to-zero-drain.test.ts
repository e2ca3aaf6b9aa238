/**
 * Stopping on the wire (spec §9.4): kill_signal then SIGKILL, draining a stopping machine's
 * in-flight requests, a request held while the only machine stops, and no process left after
 * shutdown. The machines are real child processes (process driver).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { test, type TestContext } from 'node:test';
import { send, startNode } from '../harness/index.ts';
import { isAlive } from '../machines/fixture-apps.ts';

const INTERVAL_MS = 60_000;

/**
 * APP is the machines' program: GET /hold prints "holding" and stays open until GET /release
 * (sent to the machine directly); anything else answers with the machine id and pid. It dies on SIGINT (Node's
 * default) and, when IGNORE_SIGTERM is set, logs SIGTERM and keeps running.
 */
const APP = `
import { createServer } from 'node:http';
const held = [];
if (process.env.IGNORE_SIGTERM) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
createServer((req, res) => {
  if (req.url === '/hold') { held.push(res); console.log('holding'); return; }
  // Held requests end once 'ok' is sent: their end may let Ricochet stop this machine.
  if (req.url === '/release') { res.end('ok', () => { for (const r of held.splice(0)) r.end('released ' + process.env.FLY_MACHINE_ID); }); return; }
  res.end(process.env.FLY_MACHINE_ID + ' ' + process.pid);
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

function appDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-autostop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.mjs'), APP);
  return dir;
}

/** config writes one app whose machine groups (region, count) run APP from `dir`. */
function config(dir: string, groups: [region: string, count: number][], service: string, app = ''): string {
  return `region = "iad"
[regions]
iad = 0
sjc = 62
[machines]
autostop_interval_ms = ${INTERVAL_MS}
[[apps]]
name = "idle"
hostnames = ["idle.test"]
primary_region = "iad"
${app}
  [apps.http_service]
  internal_port = 8080
${service}
${groups.map(([region, count]) => `  [[apps.machines]]\n  region = "${region}"\n  count = ${count}\n  cmd = ${JSON.stringify([process.execPath, 'app.mjs'])}\n  cwd = ${JSON.stringify(dir)}\n`).join('')}`;
}

/** clocked starts a node whose clock only moves when the test says so. */
async function clocked(t: TestContext, toml: string) {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const started = await startNode(t, toml, { now: () => clock.now, logLevel: 'debug' });
  return { ...started, clock };
}

type Node = Awaited<ReturnType<typeof startNode>>['node'];

/** direct sends a request to a machine's own port, past the proxy. */
async function direct(node: Node, id: string, path: string): Promise<string> {
  const runtime = node.catalog.get(id)!.runtime!;
  const res = await fetch(`http://${runtime.host}:${runtime.ports['8080']}${path}`);
  return res.text();
}

test('a stop sends kill_signal, then SIGKILL once kill_timeout has passed', async (t) => {
  const dir = appDir(t);
  const { node, logs } = await clocked(
    t,
    config(dir, [['iad', 1]], '  auto_stop_machines = "stop"', 'kill_signal = "SIGTERM"\nkill_timeout = "200ms"\n  [apps.env]\n  IGNORE_SIGTERM = "1"'),
  );
  const [machine] = node.catalog.machines();
  const began = performance.now();
  await node.supervisor.stop(machine.id);
  assert.ok(performance.now() - began >= 200);
  await logs.waitFor((l) => l.msg === 'ignoring SIGTERM' && l.machine === machine.id);
  const stopped = await logs.waitFor((l) => l.msg === 'machine stopped' && l.machine === machine.id);
  assert.equal(stopped.signal, 'SIGKILL');
  assert.equal(isAlive(machine.runtime!.pid!), false);
});

test('a stopping machine gets no new request and its in-flight requests finish before the signal', async (t) => {
  const dir = appDir(t);
  const { url, node, logs } = await clocked(t, config(dir, [['iad', 2]], '  auto_stop_machines = "stop"'));
  const held = send(url(), { host: 'idle.test', path: '/hold' });
  const draining = String((await logs.waitFor((l) => l.msg === 'holding')).machine);
  const other = node.catalog.machines().find((m) => m.id !== draining)!.id;
  const stopping = node.supervisor.stop(draining);
  await logs.waitFor((l) => l.msg === 'machine stopping' && l.machine === draining);
  for (let i = 0; i < 3; i++) assert.match((await send(url(), { host: 'idle.test' })).body, new RegExp(`^${other} `));
  assert.equal(await direct(node, draining, '/release'), 'ok');
  const res = await held;
  assert.equal(res.status, 200);
  assert.equal(res.body, `released ${draining}`);
  await stopping;
  assert.equal(node.catalog.get(draining)!.state, 'stopped');
});

test('draining is bounded by kill_timeout: a request still in flight then ends with the machine', async (t) => {
  const dir = appDir(t);
  const { url, node, logs } = await clocked(t, config(dir, [['iad', 1]], '  auto_stop_machines = "stop"', 'kill_timeout = "100ms"'));
  const [machine] = node.catalog.machines();
  const held = send(url(), { host: 'idle.test', path: '/hold' });
  await logs.waitFor((l) => l.msg === 'holding');
  await node.supervisor.stop(machine.id);
  const res = await held;
  assert.equal(res.status, 502);
  assert.equal(node.runtime.load.total(), 0);
});

test('after shutdown no machine process is left, suspended ones included', async (t) => {
  const dir = appDir(t);
  const { node } = await clocked(t, config(dir, [['iad', 2], ['sjc', 1]], '  auto_stop_machines = "suspend"'));
  const pids = node.catalog.machines().map((m) => m.runtime!.pid!);
  await node.supervisor.suspend(node.catalog.machines().find((m) => m.region === 'sjc')!.id);
  assert.deepEqual(pids.filter(isAlive).length, 3);
  await node.stop();
  assert.deepEqual(pids.filter(isAlive), []);
});

test('a request for an app whose only machine is stopping is held, then served once it started again', async (t) => {
  const dir = appDir(t);
  const { url, node, logs } = await clocked(t, config(dir, [['iad', 1]], '  auto_stop_machines = "stop"'));
  const [machine] = node.catalog.machines();
  const held = send(url(), { host: 'idle.test', path: '/hold' });
  await logs.waitFor((l) => l.msg === 'holding');
  const stopping = node.supervisor.stop(machine.id);
  await logs.waitFor((l) => l.msg === 'machine stopping');
  const late = send(url(), { host: 'idle.test' });
  await logs.waitFor((l) => l.msg === 'request held for machine start' && l.state === 'stopping');
  await direct(node, machine.id, '/release');
  assert.equal((await held).status, 200);
  await stopping;
  const res = await late;
  assert.equal(res.status, 200);
  assert.match(res.body, new RegExp(`^${machine.id} `));
  assert.equal(node.catalog.get(machine.id)!.state, 'started');
});
