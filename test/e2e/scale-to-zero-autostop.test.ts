/**
 * Autostop and suspend on the wire (spec §9 stop loop, §9.5). The
 * machines are real child processes (process driver); the autostop passes are run by the test
 * with an injected clock, so no test waits for the pass period.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { send } from '../harness/index.ts';
import { appDir, clocked, config, direct, INTERVAL_MS, type Node } from '../harness/scale-to-zero.ts';
import { isAlive } from '../machines/fixture-apps.ts';

function started(node: Node, region: string): string[] {
  return node.catalog.machines().filter((m) => m.region === region && m.state === 'started').map((m) => m.id);
}

/** direct sends a request to a machine's own port, past the proxy. */
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
