/**
 * Autostart on the wire (spec §9 "Start"): machines are real child processes (process driver);
 * a request for an app with no started machine starts one, is held until it accepts
 * connections and is then served by it. Wakes are single-flight and held requests are bounded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Agent, request } from 'undici';
import { send, startNode } from '../harness/index.ts';

/**
 * APP is the machines' program: it answers with its machine id, region and pid. It exits with
 * code 1 at start when a file `fail-<machine id>` exists in its directory, and never listens
 * when `no-listen` does, so a test can make the next start fail.
 */
const APP = `
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
const id = process.env.FLY_MACHINE_ID;
if (existsSync('fail-' + id)) process.exit(1);
if (!existsSync('no-listen')) {
  createServer((req, res) => res.end(id + ' ' + process.env.FLY_REGION + ' ' + process.pid)).listen(Number(process.env.PORT), '127.0.0.1');
} else {
  setInterval(() => {}, 1000);
}
`;

/** appDir writes APP into a fresh directory, removed after the test. */
function appDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-autostart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.mjs'), APP);
  return dir;
}

/** config writes a node config with one app whose machines run APP from `dir`. */
function config(dir: string, machines: string[], options: { service?: string; top?: string } = {}): string {
  return `region = "iad"
${options.top ?? ''}
[regions]
iad = 0
sjc = 62
[[apps]]
name = "cold"
hostnames = ["cold.test"]
primary_region = "iad"
  [apps.http_service]
  internal_port = 8080
  auto_stop_machines = "stop"
${options.service ?? ''}
${machines.map((region) => `  [[apps.machines]]\n  region = "${region}"\n  cmd = ${JSON.stringify([process.execPath, 'app.mjs'])}\n  cwd = ${JSON.stringify(dir)}\n`).join('')}`;
}

/** stopAll stops every machine of the node, as autostop would have. */
async function stopAll(node: Awaited<ReturnType<typeof startNode>>['node']): Promise<void> {
  await Promise.all(node.catalog.machines().map((m) => node.supervisor.stop(m.id)));
}

test('a request for an app with every machine stopped starts one, is held, then served by it', async (t) => {
  const dir = appDir(t);
  const { url, node, logs } = await startNode(t, config(dir, ['iad']));
  await stopAll(node);
  const [machine] = node.catalog.machines('cold');
  assert.equal(machine.state, 'stopped');
  const before = logs.lines.length;

  const res = await send(url(), { host: 'cold.test' });
  assert.equal(res.status, 200);
  const woken = node.catalog.get(machine.id)!;
  assert.equal(woken.state, 'started');
  assert.equal(res.body, `${machine.id} iad ${woken.runtime!.pid}`);
  const transitions = logs.lines.slice(before).filter((l) => l.machine === machine.id && /^machine (starting|started)$/.test(String(l.msg)));
  assert.deepEqual(transitions.map((l) => l.msg), ['machine starting', 'machine started']);
});

test('50 concurrent requests during one wake start exactly one machine', async (t) => {
  const dir = appDir(t);
  const { url, node, logs } = await startNode(
    t,
    config(dir, ['iad', 'iad'], { service: '    [apps.http_service.concurrency]\n    type = "requests"\n    soft_limit = 100' }),
  );
  await stopAll(node);
  const before = logs.lines.length;
  // One connection per request, so all 50 reach the proxy while the machine boots.
  const agent = new Agent({ connections: 64 });
  t.after(() => agent.close());
  const answers = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const res = await request(url(), { headers: { host: 'cold.test' }, dispatcher: agent });
      return { status: res.statusCode, body: await res.body.text() };
    }),
  );
  assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
  const started = logs.lines.slice(before).filter((l) => l.msg === 'machine started');
  assert.equal(started.length, 1);
  assert.equal(new Set(answers.map((r) => r.body)).size, 1);
  assert.deepEqual(node.catalog.machines('cold').map((m) => m.state).sort(), ['started', 'stopped']);
});

test('with auto_start_machines = false a request answers 503 PM06 and starts nothing', async (t) => {
  const dir = appDir(t);
  const { url, node, logs } = await startNode(t, config(dir, ['iad'], { service: '  auto_start_machines = false' }));
  await stopAll(node);
  const before = logs.lines.length;
  const res = await send(url(), { host: 'cold.test' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['ricochet-error'], 'PM06');
  assert.equal(logs.lines.slice(before).filter((l) => l.msg === 'machine starting').length, 0);
});

test('requests held beyond max_held_requests are refused with 503 PM09 and Retry-After', async (t) => {
  const dir = appDir(t);
  const { url, node, logs } = await startNode(t, config(dir, ['iad'], { top: '[machines]\nmax_held_requests = 1' }));
  await stopAll(node);
  const [machine] = node.catalog.machines('cold');
  const before = logs.lines.length;
  const first = send(url(), { host: 'cold.test' });
  await logs.waitFor((l) => logs.lines.indexOf(l) >= before && l.msg === 'machine starting' && l.machine === machine.id);
  const refused = await send(url(), { host: 'cold.test' });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['ricochet-error'], 'PM09');
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal((await first).status, 200);
});

test('a wake that does not accept connections within start_timeout_ms answers 504 PM03', async (t) => {
  const dir = appDir(t);
  // The timeout also bounds the machine's first start, with the node: long enough for a loaded CI machine.
  const { url, node } = await startNode(t, config(dir, ['iad'], { top: '[machines]\nstart_timeout_ms = 1500' }));
  await stopAll(node);
  writeFileSync(join(dir, 'no-listen'), '');
  const res = await send(url(), { host: 'cold.test' });
  assert.equal(res.status, 504);
  assert.equal(res.headers['ricochet-error'], 'PM03');
});

test('a machine that fails to start gives way to the next candidate', async (t) => {
  const dir = appDir(t);
  const { url, node, logs } = await startNode(t, config(dir, ['iad', 'sjc']));
  await stopAll(node);
  const local = node.catalog.machines('cold').find((m) => m.region === 'iad')!;
  const remote = node.catalog.machines('cold').find((m) => m.region === 'sjc')!;
  writeFileSync(join(dir, `fail-${local.id}`), '');
  const res = await send(url(), { host: 'cold.test' });
  assert.equal(res.status, 200);
  assert.match(res.body, new RegExp(`^${remote.id} sjc `));
  assert.equal(node.catalog.get(local.id)!.state, 'failed');
  const gaveWay = await logs.waitFor((l) => l.msg === 'machine failed to start, trying another');
  assert.deepEqual([gaveWay.machine, gaveWay.code], [local.id, 'PM05']);
});
