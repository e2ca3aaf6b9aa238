import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import type { Machine, MachineConfig } from '../../src/catalog/types.ts';
import { accepts } from '../../src/machines/drivers/wait-for-ports.ts';
import { Supervisor } from '../../src/machines/supervisor.ts';
import { ProxyError } from '../../src/proxy/errors.ts';
import { captureLogger } from './capture-logger.ts';
import { fixtureCwd, fixtureExec, getJson, isAlive, type FixtureApp } from './fixture-apps.ts';
import { MemoryRecords, testApp, testMachine } from './memory-records.ts';

const CLOCK_MS = 1_700_000_000_000;

interface Setup {
  records: MemoryRecords;
  supervisor: Supervisor;
  log: ReturnType<typeof captureLogger>;
}

function setup(t: TestContext, options: { startTimeoutMs?: number; backoffMs?: number } = {}): Setup {
  const records = new MemoryRecords();
  records.addApp(testApp());
  const log = captureLogger();
  const backoffMs = options.backoffMs ?? 1;
  const supervisor = new Supervisor({
    records,
    logger: log.logger,
    startTimeoutMs: options.startTimeoutMs ?? 5_000,
    now: () => CLOCK_MS,
    restartBackoff: { initialMs: backoffMs, maxMs: backoffMs },
  });
  t.after(() => supervisor.shutdown());
  return { records, supervisor, log };
}

function processMachine(records: MemoryRecords, app: FixtureApp, config: Partial<MachineConfig> = {}): Machine {
  return records.add(
    testMachine({ config: { init: { exec: fixtureExec(app) }, ricochet: { driver: 'process', cwd: fixtureCwd }, ...config } }),
  );
}

async function staticMachine(t: TestContext, records: MemoryRecords): Promise<Machine> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return records.add(testMachine({ config: { ricochet: { driver: 'static', address: `127.0.0.1:${port}` } } }));
}

function pidOf(machine: Machine): number {
  assert.equal(typeof machine.runtime?.pid, 'number');
  return machine.runtime!.pid!;
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('Supervisor start', { concurrency: 4 }, () => {
  test('start records the machine as started with its runtime, one event and one log line', async (t) => {
    const { records, supervisor, log } = setup(t);
    const { id } = processMachine(records, 'echo-env');
    const started = await supervisor.start(id);
    assert.equal(started.state, 'started');
    assert.deepEqual(records.get(id), started);
    assert.equal(await accepts(started.runtime!.host, started.runtime!.ports['8080']), true);
    assert.deepEqual(started.events, [
      { type: 'start', status: 'started', source: 'ricochet', timestamp: CLOCK_MS },
      { type: 'start', status: 'starting', source: 'ricochet', timestamp: CLOCK_MS },
    ]);
    const line = log.lines.find((entry) => entry.msg === 'machine started');
    assert.equal(line?.machine, id);
    assert.equal(line?.app, 'tenant');
    assert.equal(line?.region, 'iad');
    assert.equal(line?.ms, 0);
    assert.equal(line?.level, 30);
    assert.equal(supervisor.isRunning(id), true);
  });

  test('ten concurrent starts share one start and one process', async (t) => {
    const { records, supervisor, log } = setup(t);
    const { id } = processMachine(records, 'echo-env');
    const results = await Promise.all(Array.from({ length: 10 }, () => supervisor.start(id)));
    assert.equal(new Set(results.map(pidOf)).size, 1);
    assert.equal(log.lines.filter((line) => line.msg === 'machine process spawned').length, 1);
    assert.equal(log.lines.filter((line) => line.msg === 'machine started').length, 1);
    assert.equal(pidOf(await supervisor.start(id)), pidOf(results[0]), 'a later start of a started machine changes nothing');
  });

  test('two machines of one app run side by side on distinct ports', async (t) => {
    const { records, supervisor } = setup(t);
    const [a, b] = await Promise.all([
      supervisor.start(processMachine(records, 'echo-env').id),
      supervisor.start(processMachine(records, 'echo-env').id),
    ]);
    assert.notEqual(a.runtime!.ports['8080'], b.runtime!.ports['8080']);
    const bodyA = await getJson<{ env: Record<string, string> }>(a.runtime!.host, a.runtime!.ports['8080']);
    assert.equal(bodyA.env.FLY_MACHINE_ID, a.id);
  });

  test('a start past the deadline rejects with PM03, kills the process and leaves the machine failed', async (t) => {
    const { records, supervisor, log } = setup(t, { startTimeoutMs: 200 });
    const { id } = processMachine(records, 'never-listens');
    await assert.rejects(supervisor.start(id), { code: 'PM03' });
    assert.equal(records.get(id)?.state, 'failed');
    assert.equal(records.get(id)?.runtime, null);
    assert.equal(gone(log.lines.find((line) => line.msg === 'machine process spawned')!.pid as number), true);
    assert.equal(supervisor.isRunning(id), false);
  });

  test('a process that exits before it listens rejects the start with PM05 and leaves the machine failed', async (t) => {
    const { records, supervisor, log } = setup(t);
    const { id } = processMachine(records, 'exits-with-code-1', { restart: { policy: 'always' } });
    await assert.rejects(supervisor.start(id), (error: unknown) => error instanceof ProxyError && error.code === 'PM05');
    assert.equal(records.get(id)?.state, 'failed');
    assert.equal(log.lines.find((line) => line.msg === 'machine failed')?.code, 'PM05');
    await assert.rejects(supervisor.start(id), { code: 'PM05' }, 'a failed machine can be started again');
  });

  test('start of a destroyed or unknown machine rejects with PM08', async (t) => {
    const { records, supervisor } = setup(t);
    const destroyed = records.add(testMachine({ state: 'destroyed' }));
    await assert.rejects(supervisor.start(destroyed.id), { code: 'PM08' });
    await assert.rejects(supervisor.start('00000000000000'), { code: 'PM08' });
  });

  test('a machine recorded as started with no process behind it is started afresh', async (t) => {
    const { records, supervisor } = setup(t);
    const machine = processMachine(records, 'echo-env');
    records.add({ ...machine, state: 'started', runtime: { host: '127.0.0.1', ports: { '8080': 1 } } });
    const started = await supervisor.start(machine.id);
    assert.notEqual(started.runtime!.ports['8080'], 1);
    assert.equal(await accepts(started.runtime!.host, started.runtime!.ports['8080']), true);
  });
});

describe('Supervisor stop, suspend and destroy', { concurrency: 4 }, () => {
  test('stop sends kill_signal, then SIGKILL after kill_timeout, and records the machine stopped', async (t) => {
    const { records, supervisor, log } = setup(t);
    const { id } = processMachine(records, 'ignores-sigint', { stop_config: { signal: 'SIGINT', timeout: '200ms' } });
    const pid = pidOf(await supervisor.start(id));
    await supervisor.stop(id);
    assert.equal(gone(pid), true);
    const machine = records.get(id)!;
    assert.equal(machine.state, 'stopped');
    assert.equal(machine.runtime, null);
    assert.deepEqual(machine.events.slice(0, 2).map((event) => [event.type, event.status]), [['stop', 'stopped'], ['stop', 'stopping']]);
    const line = log.lines.find((entry) => entry.msg === 'machine stopped');
    assert.equal(line?.signal, 'SIGKILL');
    await log.waitFor((entry) => entry.msg === 'ignoring SIGINT');
    assert.equal(supervisor.isRunning(id), false);
  });

  test('stop options override the config signal and timeout', async (t) => {
    const { records, supervisor, log } = setup(t);
    const { id } = processMachine(records, 'ignores-sigint', { stop_config: { signal: 'SIGINT', timeout: '300s' } });
    await supervisor.start(id);
    await supervisor.stop(id, { signal: 'SIGTERM', timeoutMs: 5_000 });
    assert.equal(log.lines.find((entry) => entry.msg === 'machine stopped')?.signal, 'SIGTERM');
  });

  test('stop with an unknown signal rejects with RC03', async (t) => {
    const { records, supervisor } = setup(t);
    const { id } = processMachine(records, 'echo-env');
    await assert.rejects(supervisor.stop(id, { signal: 'SIGNOPE' }), { code: 'RC03' });
  });

  test('stop of a machine that runs nothing changes nothing', async (t) => {
    const { records, supervisor } = setup(t);
    const { id } = records.add(testMachine({ state: 'stopped' }));
    await supervisor.stop(id);
    assert.equal(records.updates, 0);
  });

  test('suspend freezes the machine and start resumes the same process', async (t) => {
    const { records, supervisor, log } = setup(t);
    const { id } = processMachine(records, 'echo-env');
    const pid = pidOf(await supervisor.start(id));
    await supervisor.suspend(id);
    assert.equal(records.get(id)?.state, 'suspended');
    assert.equal(records.get(id)?.runtime, null);
    assert.equal(supervisor.isRunning(id), false);
    await supervisor.suspend(id);
    const resumed = await supervisor.start(id);
    assert.equal(resumed.state, 'started');
    assert.equal(pidOf(resumed), pid);
    const line = log.lines.findLast((entry) => entry.msg === 'machine started');
    assert.equal(line?.resumed, true);
    const body = await getJson<{ pid: number }>(resumed.runtime!.host, resumed.runtime!.ports['8080']);
    assert.equal(body.pid, pid);
  });

  test('stop of a suspended machine ends its process', async (t) => {
    const { records, supervisor } = setup(t);
    const { id } = processMachine(records, 'echo-env', { stop_config: { signal: 'SIGTERM' } });
    const pid = pidOf(await supervisor.start(id));
    await supervisor.suspend(id);
    await supervisor.stop(id);
    assert.equal(records.get(id)?.state, 'stopped');
    assert.equal(gone(pid), true);
  });

  test('suspend of a stopped machine rejects with PM08', async (t) => {
    const { records, supervisor } = setup(t);
    const { id } = records.add(testMachine({ state: 'stopped' }));
    await assert.rejects(supervisor.suspend(id), { code: 'PM08' });
  });

  test('suspend of a static machine falls back to stop (spec §9.5)', async (t) => {
    const { records, supervisor } = setup(t);
    const { id } = await staticMachine(t, records);
    const started = await supervisor.start(id);
    assert.equal(started.runtime?.pid, undefined);
    await supervisor.suspend(id);
    assert.equal(records.get(id)?.state, 'stopped');
  });

  test('destroy stops a running machine and records it destroyed', async (t) => {
    const { records, supervisor } = setup(t);
    const { id } = processMachine(records, 'echo-env');
    const pid = pidOf(await supervisor.start(id));
    await supervisor.destroy(id);
    assert.equal(gone(pid), true);
    assert.equal(records.get(id)?.state, 'destroyed');
    assert.deepEqual(records.get(id)?.events.slice(0, 2).map((event) => event.status), ['destroyed', 'destroying']);
    await supervisor.destroy(id);
    await assert.rejects(supervisor.start(id), { code: 'PM08' });
  });

  test('events keep the 20 newest, newest first', async (t) => {
    const { records, supervisor } = setup(t);
    const { id } = await staticMachine(t, records);
    for (let round = 0; round < 6; round++) {
      await supervisor.start(id);
      await supervisor.stop(id);
    }
    const events = records.get(id)!.events;
    assert.equal(events.length, 20);
    assert.deepEqual([events[0].type, events[0].status], ['stop', 'stopped']);
  });
});

describe('Supervisor restart policy', { concurrency: 4 }, () => {
  async function crash(machine: Machine, code: number): Promise<void> {
    await fetch(`http://${machine.runtime!.host}:${machine.runtime!.ports['8080']}/exit/${code}`).then((response) => response.text());
  }

  test('on-failure restarts a crashed machine in a new process', async (t) => {
    const { records, supervisor } = setup(t);
    const { id } = processMachine(records, 'echo-env', { restart: { policy: 'on-failure' } });
    const first = await supervisor.start(id);
    await crash(first, 1);
    const restarted = await records.waitFor(id, (m) => m.state === 'started' && m.runtime?.pid !== first.runtime?.pid, 'a restart');
    assert.equal(await accepts(restarted.runtime!.host, restarted.runtime!.ports['8080']), true);
    assert.ok(restarted.events.some((event) => event.type === 'exit' && event.status === 'starting'));
    assert.deepEqual([restarted.events[0].type, restarted.events[0].status], ['restart', 'started']);
  });

  test('on-failure leaves a machine that exits cleanly stopped', async (t) => {
    const { records, supervisor } = setup(t);
    const { id } = processMachine(records, 'echo-env', { restart: { policy: 'on-failure' } });
    await crash(await supervisor.start(id), 0);
    await records.waitFor(id, (m) => m.state === 'stopped', 'stopped');
  });

  test('policy no leaves a crashed machine failed', async (t) => {
    const { records, supervisor, log } = setup(t);
    const { id } = processMachine(records, 'echo-env', { restart: { policy: 'no' } });
    await crash(await supervisor.start(id), 1);
    const failed = await records.waitFor(id, (m) => m.state === 'failed', 'failed');
    assert.equal(failed.runtime, null);
    assert.deepEqual([failed.events[0].type, failed.events[0].status], ['exit', 'failed']);
    assert.equal(log.lines.find((line) => line.msg === 'machine failed')?.code, 1);
  });

  test('always restarts a machine that exits cleanly', async (t) => {
    const { records, supervisor } = setup(t);
    const { id } = processMachine(records, 'echo-env', { restart: { policy: 'always' } });
    const first = await supervisor.start(id);
    await crash(first, 0);
    await records.waitFor(id, (m) => m.state === 'started' && m.runtime?.pid !== first.runtime?.pid, 'a restart');
  });

  test('restarts stop after max_retries and the machine is failed', async (t) => {
    const { records, supervisor, log } = setup(t);
    const machine = processMachine(records, 'echo-env', { restart: { policy: 'on-failure', max_retries: 2 } });
    const first = await supervisor.start(machine.id);
    records.setConfig(machine.id, { ...machine.config, init: { exec: fixtureExec('exits-with-code-1') } });
    await crash(first, 1);
    await records.waitFor(machine.id, (m) => m.state === 'failed', 'failed');
    assert.equal(log.lines.filter((line) => line.msg === 'machine starting' && line.attempt !== undefined).length, 2);
  });

  test('a stop during a restart backoff cancels the restart', async (t) => {
    const { records, supervisor, log } = setup(t, { backoffMs: 60_000 });
    const { id } = processMachine(records, 'echo-env', { restart: { policy: 'always' } });
    await crash(await supervisor.start(id), 1);
    await records.waitFor(id, (m) => m.state === 'starting', 'a pending restart');
    await supervisor.stop(id);
    assert.equal(records.get(id)?.state, 'stopped');
    assert.equal(log.lines.filter((line) => line.msg === 'machine process spawned').length, 1);
  });

  test('a start during a restart backoff starts at once', async (t) => {
    const { records, supervisor } = setup(t, { backoffMs: 60_000 });
    const { id } = processMachine(records, 'echo-env', { restart: { policy: 'always' } });
    const first = await supervisor.start(id);
    await crash(first, 1);
    await records.waitFor(id, (m) => m.state === 'starting', 'a pending restart');
    const again = await supervisor.start(id);
    assert.notEqual(pidOf(again), pidOf(first));
  });
});

describe('Supervisor shutdown', { concurrency: 4 }, () => {
  test('shutdown stops every machine and leaves no child process', async (t) => {
    const { records, supervisor } = setup(t);
    const machines = [processMachine(records, 'echo-env'), processMachine(records, 'ignores-sigint', { stop_config: { timeout: '200ms' } })];
    const grandparent = processMachine(records, 'spawns-grandchild');
    const started = await Promise.all([...machines, grandparent].map((machine) => supervisor.start(machine.id)));
    const family = await getJson<{ grandchild: number }>(started[2].runtime!.host, started[2].runtime!.ports['8080']);
    await supervisor.shutdown();
    for (const machine of started) {
      assert.equal(gone(pidOf(machine)), true, `pid ${pidOf(machine)}`);
      assert.equal(records.get(machine.id)?.state, 'stopped');
    }
    assert.equal(isAlive(family.grandchild), false);
  });

  test('shutdown aborts a start in flight and later starts reject with RC05', async (t) => {
    const { records, supervisor, log } = setup(t, { startTimeoutMs: 60_000 });
    const { id } = processMachine(records, 'never-listens');
    const starting = supervisor.start(id);
    const spawned = await log.waitFor((line) => line.msg === 'machine process spawned');
    await supervisor.shutdown();
    await assert.rejects(starting, { code: 'RC05' });
    assert.equal(gone(spawned.pid as number), true);
    assert.equal(records.get(id)?.state, 'stopped');
    await assert.rejects(supervisor.start(id), { code: 'RC05' });
  });
});
