/**
 * Stopping on the wire (spec §9.4): kill_signal then SIGKILL, draining a stopping machine's
 * in-flight requests, a request held while the only machine stops, and no process left after
 * shutdown. The machines are real child processes (process driver).
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { send } from '../harness/index.ts';
import { appDir, clocked, config, direct, INTERVAL_MS, type Node } from '../harness/scale-to-zero.ts';
import { isAlive } from '../machines/fixture-apps.ts';

test('a stop sends kill_signal, then SIGKILL once kill_timeout has passed', async (t) => {
  const dir = appDir(t);
  const { node, logs } = await clocked(
    t,
    config(dir, [['iad', 1]], '  auto_stop_machines = "stop"', 'kill_signal = "SIGTERM"\nkill_timeout = "200ms"\n  [apps.env]\n  IGNORE_SIGTERM = "1"'),
  );
  const [machine] = node.catalog.machines();
  const began = performance.now();
  await node.supervisor.stop(machine.id);
  // libuv timers count whole milliseconds of loop time: a 200 ms wait can measure 199.x ms here.
  assert.ok(performance.now() - began >= 195);
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
