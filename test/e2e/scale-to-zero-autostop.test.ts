/**
 * Autostop and suspend on the wire (spec §9 stop loop, §9.5). The
 * machines are real child processes (process driver); the autostop passes are run by the test
 * with an injected clock, so no test waits for the pass period.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

function started(node: Node, region: string): string[] {
  return node.catalog.machines().filter((m) => m.region === region && m.state === 'started').map((m) => m.id);
}

/** direct sends a request to a machine's own port, past the proxy. */
async function direct(node: Node, id: string, path: string): Promise<string> {
  const runtime = node.catalog.get(id)!.runtime!;
  const res = await fetch(`http://${runtime.host}:${runtime.ports['8080']}${path}`);
  return res.text();
}

test('each pass stops at most one machine per region, by excess = n − (n_over_soft + 1), down to zero', async (t) => {
  const dir = appDir(t);
  const { url, node, logs, clock } = await clocked(
    t,
    config(dir, [['iad', 3], ['sjc', 2]], '  auto_stop_machines = "stop"\n    [apps.http_service.concurrency]\n    type = "requests"\n    soft_limit = 1'),
  );
  const pids = node.catalog.machines().map((m) => m.runtime!.pid!);
  // One iad machine at its soft limit: iad excess = 3 − (1 + 1) = 1; sjc excess = 2 − (0 + 1) = 1.
  const held = send(url(), { host: 'idle.test', path: '/hold' });
  const busy = String((await logs.waitFor((l) => l.msg === 'holding')).machine);
  let result = await node.autostop.pass();
  assert.equal(result.stopped.length, 2);
  assert.deepEqual([started(node, 'iad').length, started(node, 'sjc').length], [2, 1]);
  assert.ok(started(node, 'iad').includes(busy));
  const reasons = logs.find((l) => l.msg === 'autostop: stopping machine').map((l) => [l.region, l.reason, l.machines, l.over_soft_limit]);
  assert.deepEqual(reasons.sort(), [['iad', 'excess capacity', 3, 1], ['sjc', 'excess capacity', 2, 0]]);

  // iad: excess = 2 − (1 + 1) = 0. sjc: one machine left, idle, but it ran within the period.
  assert.deepEqual(await node.autostop.pass(), { stopped: [], suspended: [] });
  clock.now += INTERVAL_MS;
  result = await node.autostop.pass();
  assert.deepEqual([result.stopped.length, started(node, 'sjc').length, started(node, 'iad').length], [1, 0, 2]);

  await direct(node, busy, '/release');
  assert.equal((await held).status, 200);
  // iad: excess = 2 − (0 + 1) = 1: the machine that never served goes first.
  result = await node.autostop.pass();
  assert.deepEqual(started(node, 'iad'), [busy]);
  // The last machine has just served a request: it stays for one more period, then goes.
  assert.deepEqual(await node.autostop.pass(), { stopped: [], suspended: [] });
  clock.now += INTERVAL_MS;
  assert.deepEqual(await node.autostop.pass(), { stopped: [busy], suspended: [] });
  assert.equal(node.catalog.machines().filter((m) => m.state !== 'stopped').length, 0);
  assert.deepEqual(pids.filter(isAlive), []);
  assert.equal(logs.find((l) => l.msg === 'machine stopped').length, 5);

  // Scaled to zero, the next request wakes one machine, in the nearest region.
  const woken = await send(url(), { host: 'idle.test' });
  assert.equal(woken.status, 200);
  assert.deepEqual(started(node, 'iad').length, 1);
});

test('min_machines_running keeps machines running in the primary region only', async (t) => {
  const dir = appDir(t);
  const { node, clock } = await clocked(t, config(dir, [['iad', 2], ['sjc', 1]], '  auto_stop_machines = "stop"\n  min_machines_running = 1'));
  clock.now += INTERVAL_MS;
  for (let i = 0; i < 3; i++) await node.autostop.pass();
  assert.deepEqual([started(node, 'iad').length, started(node, 'sjc').length], [1, 0]);
});

test('autostop "suspend" freezes the process and the next request resumes the same process', async (t) => {
  const dir = appDir(t);
  const { url, node, logs, clock } = await clocked(t, config(dir, [['iad', 1]], '  auto_stop_machines = "suspend"'));
  const [machine] = node.catalog.machines();
  const pid = machine.runtime!.pid!;
  clock.now += INTERVAL_MS;
  assert.deepEqual(await node.autostop.pass(), { stopped: [], suspended: [machine.id] });
  assert.equal(node.catalog.get(machine.id)!.state, 'suspended');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  assert.match(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3), /^[Tt]$/);

  const res = await send(url(), { host: 'idle.test' });
  assert.equal(res.body, `${machine.id} ${pid}`);
  const resumed = await logs.waitFor((l) => l.msg === 'machine started' && l.resumed === true);
  assert.equal(resumed.machine, machine.id);
  assert.equal(typeof resumed.ms, 'number');
});
