import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import type { Service } from '../../src/catalog/types.ts';
import { ProcessDriver } from '../../src/machines/drivers/process-driver.ts';
import { OUTPUT_LINE_MAX_CHARS } from '../../src/machines/drivers/line-splitter.ts';
import { UtsNamespace } from '../../src/machines/drivers/uts-namespace.ts';
import { ProxyError } from '../../src/proxy/errors.ts';
import { captureLogger } from './capture-logger.ts';
import { runDriverContract, startFor } from './driver-contract.ts';
import { fixtureCwd, fixtureExec, getJson, isAlive, type FixtureApp } from './fixture-apps.ts';
import { testApp, testMachine } from './memory-records.ts';

const driver = new ProcessDriver();
const silentStart = { app: testApp(), timeoutMs: 5_000, signal: new AbortController().signal };

function services(ports: number[]): Service[] {
  return ports.map((port) => ({ protocol: 'tcp', internal_port: port, ports: [{ port: 80, handlers: ['http'] }] }));
}

function fixtureMachine(app: FixtureApp, ports: number[] = [8080], extra: Parameters<typeof testMachine>[0] = {}) {
  return testMachine({
    ...extra,
    config: { init: { exec: fixtureExec(app) }, services: services(ports), ricochet: { driver: 'process', cwd: fixtureCwd }, ...extra.config },
  });
}

interface EchoBody {
  env: Record<string, string>;
  hostname: string;
  pid: number;
  port: number;
  cwd: string;
}

runDriverContract('process', {
  driver,
  startable: async (_t: TestContext, ports: number[]) => fixtureMachine('echo-env', ports),
  unreachable: async () => fixtureMachine('never-listens'),
});

describe('ProcessDriver', { concurrency: 4 }, () => {
  test('the process gets the FLY_* variables, PORT per internal port, and none of Ricochet own environment', async (t) => {
    const machine = fixtureMachine('echo-env', [8080, 9090], {
      region: 'sjc',
      config: { env: { GREETING: 'hello' }, metadata: { fly_process_group: 'web' } },
    });
    const running = await startFor(t, driver, machine);
    const local8080 = running.runtime.ports['8080'];
    const body = await getJson<EchoBody>(running.runtime.host, local8080);
    assert.equal(body.env.PORT, String(local8080));
    assert.equal(body.env.RICOCHET_PORT_8080, String(local8080));
    assert.equal(body.env.RICOCHET_PORT_9090, String(running.runtime.ports['9090']));
    assert.equal(body.env.FLY_MACHINE_ID, machine.id);
    assert.equal(body.env.FLY_ALLOC_ID, machine.id);
    assert.equal(body.env.FLY_APP_NAME, 'tenant');
    assert.equal(body.env.FLY_REGION, 'sjc');
    assert.equal(body.env.PRIMARY_REGION, 'iad');
    assert.equal(body.env.FLY_PROCESS_GROUP, 'web');
    assert.equal(body.env.FLY_IMAGE_REF, machine.config.image);
    assert.equal(body.env.FLY_MACHINE_VERSION, machine.instance_id);
    assert.equal(body.env.FLY_VM_MEMORY_MB, '256');
    assert.equal(body.env.HOSTNAME, machine.id);
    assert.equal(body.env.GREETING, 'hello');
    assert.equal(body.env.NODE_TEST_CONTEXT, undefined);
    assert.equal(body.cwd, fixtureCwd.replace(/\/$/, ''));
    assert.equal(body.pid, running.runtime.pid);
    const other = await getJson<EchoBody>(running.runtime.host, running.runtime.ports['9090']);
    assert.equal(other.pid, body.pid, 'one process listens on both local ports');
  });

  const root = process.platform === 'linux' && process.getuid?.() === 0;
  test('the machine hostname is its id when Ricochet runs as root on Linux', { skip: !root && 'needs root on Linux' }, async (t) => {
    assert.equal(await new UtsNamespace().available(), true, 'unshare --uts works here');
    const machine = fixtureMachine('echo-env');
    const running = await startFor(t, driver, machine);
    const body = await getJson<EchoBody>(running.runtime.host, running.runtime.ports['8080']);
    assert.equal(body.hostname, machine.id);
    assert.equal(hostname(), readFileSync('/proc/sys/kernel/hostname', 'utf8').trim(), 'the host keeps its hostname');
  });

  test('without a UTS namespace the machine starts with the host hostname', async (t) => {
    const fallback = new ProcessDriver({ uts: new UtsNamespace({ unshare: '/nonexistent/unshare' }) });
    const machine = fixtureMachine('echo-env');
    const running = await startFor(t, fallback, machine);
    const body = await getJson<EchoBody>(running.runtime.host, running.runtime.ports['8080']);
    assert.equal(body.hostname, hostname());
    assert.equal(body.env.HOSTNAME, machine.id);
    assert.equal(body.pid, running.runtime.pid);
  });

  test('two machines of one app listen on distinct local ports', async (t) => {
    const [a, b] = await Promise.all([
      startFor(t, driver, fixtureMachine('echo-env')),
      startFor(t, driver, fixtureMachine('echo-env')),
    ]);
    assert.notEqual(a.runtime.ports['8080'], b.runtime.ports['8080']);
    const [bodyA, bodyB] = await Promise.all([
      getJson<EchoBody>(a.runtime.host, a.runtime.ports['8080']),
      getJson<EchoBody>(b.runtime.host, b.runtime.ports['8080']),
    ]);
    assert.equal(bodyA.pid, a.runtime.pid);
    assert.equal(bodyB.pid, b.runtime.pid);
  });

  test('a process that exits before it listens fails the start with PM05 and its exit code', async () => {
    const machine = fixtureMachine('exits-with-code-1', [8080], { id: 'e2865013b6e786' });
    await assert.rejects(driver.start({ ...silentStart, machine, logger: captureLogger().logger }), (error: unknown) => {
      assert.ok(error instanceof ProxyError);
      assert.equal(error.code, 'PM05');
      assert.equal(error.message, 'Cannot start machine "e2865013b6e786": process exited with code 1');
      return true;
    });
  });

  test('a start past the deadline kills the process', async () => {
    const { logger, lines } = captureLogger();
    const machine = fixtureMachine('never-listens');
    await assert.rejects(driver.start({ ...silentStart, machine, logger, timeoutMs: 200 }), { code: 'PM03' });
    const spawned = lines.find((line) => line.msg === 'machine process spawned');
    assert.equal(typeof spawned?.pid, 'number');
    assert.equal(isAlive(spawned!.pid as number), false);
  });

  test('a machine without a command or working directory fails the start with PM05', async () => {
    const noCommand = testMachine();
    await assert.rejects(driver.start({ ...silentStart, machine: noCommand, logger: captureLogger().logger }), { code: 'PM05' });
    const noCwd = fixtureMachine('echo-env', [8080], { config: { ricochet: { driver: 'process', cwd: '/nonexistent/dir' } } });
    await assert.rejects(driver.start({ ...silentStart, machine: noCwd, logger: captureLogger().logger }), { code: 'PM05' });
    const badBinary = testMachine({ config: { init: { entrypoint: ['/nonexistent/bin'], cmd: ['x'] } } });
    await assert.rejects(driver.start({ ...silentStart, machine: badBinary, logger: captureLogger().logger }), { code: 'PM05' });
  });

  test('stop sends the stop signal, then SIGKILL once the timeout passes', async (t) => {
    const { logger, waitFor } = captureLogger();
    const running = await startFor(t, driver, fixtureMachine('ignores-sigint'), { logger });
    const exit = await running.stop('SIGINT', 200);
    assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });
    await waitFor((line) => line.msg === 'ignoring SIGINT' && line.stream === 'stdout');
    assert.equal(isAlive(running.runtime.pid!), false);
  });

  test('stop with a signal the process honours ends it without SIGKILL', async (t) => {
    const running = await startFor(t, driver, fixtureMachine('echo-env'));
    assert.deepEqual(await running.stop('SIGTERM', 5_000), { code: null, signal: 'SIGTERM' });
  });

  test('stop ends the whole process group, grandchildren included', async (t) => {
    const running = await startFor(t, driver, fixtureMachine('spawns-grandchild'));
    const body = await getJson<{ pid: number; grandchild: number }>(running.runtime.host, running.runtime.ports['8080']);
    assert.equal(isAlive(body.grandchild), true);
    await running.stop('SIGINT', 1_000);
    assert.equal(isAlive(body.pid), false);
    assert.equal(isAlive(body.grandchild), false);
  });

  test('suspend stops every process of the group and resume continues them', { skip: process.platform !== 'linux' }, async (t) => {
    const running = await startFor(t, driver, fixtureMachine('spawns-grandchild'));
    const body = await getJson<{ pid: number; grandchild: number }>(running.runtime.host, running.runtime.ports['8080']);
    await running.suspend();
    assert.equal(procState(body.pid), 'T');
    await running.resume();
    assert.notEqual(procState(body.pid), 'T');
    const again = await getJson<{ pid: number }>(running.runtime.host, running.runtime.ports['8080']);
    assert.equal(again.pid, body.pid);
  });

  test('stopping a suspended machine ends it with the stop signal', async (t) => {
    const running = await startFor(t, driver, fixtureMachine('echo-env'));
    await running.suspend();
    assert.deepEqual(await running.stop('SIGTERM', 5_000), { code: null, signal: 'SIGTERM' });
  });

  test('stdout and stderr go to the logger line by line, tagged with machine, app and stream', async (t) => {
    const { logger, waitFor } = captureLogger();
    const machine = fixtureMachine('echo-env');
    const running = await startFor(t, driver, machine, { logger });
    const out = await waitFor((line) => line.msg.startsWith('listening on'));
    assert.equal(out.machine, machine.id);
    assert.equal(out.app, machine.app);
    assert.equal(out.stream, 'stdout');
    const err = await waitFor((line) => line.msg === 'a line on stderr');
    assert.equal(err.stream, 'stderr');
    await getJson(running.runtime.host, running.runtime.ports['8080'], `/print/${OUTPUT_LINE_MAX_CHARS + 10}`);
    const piece = await waitFor((line) => line.truncated === true);
    assert.equal(piece.msg.length, OUTPUT_LINE_MAX_CHARS);
    const rest = await waitFor((line) => /^x+$/.test(line.msg) && line.msg.length === 10);
    assert.equal(rest.truncated, undefined);
  });
});

function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}
