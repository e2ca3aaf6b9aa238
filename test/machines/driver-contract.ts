/**
 * runDriverContract is the one contract suite every MachineDriver runs (style guide: small
 * interfaces, several real implementations, one contract suite each).
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import pino from 'pino';
import type { Machine } from '../../src/catalog/types.ts';
import type { MachineDriver, RunningMachine } from '../../src/machines/driver.ts';
import { accepts } from '../../src/machines/drivers/wait-for-ports.ts';
import { ProxyError } from '../../src/proxy/errors.ts';
import { testApp } from './memory-records.ts';

export interface DriverHarness {
  driver: MachineDriver;
  /** startable returns a machine with these internal ports that the driver can start. */
  startable(t: TestContext, internalPorts: number[]): Promise<Machine>;
  /**
   * unreachable returns a machine whose ports never accept connections, for drivers whose start
   * waits for readiness; a driver that does not wait (static) leaves it out.
   */
  unreachable?: (t: TestContext) => Promise<Machine>;
}

const START_TIMEOUT_MS = 5_000;

/** startFor starts a machine with the driver and registers its cleanup at once. */
export async function startFor(
  t: TestContext,
  driver: MachineDriver,
  machine: Machine,
  options: { timeoutMs?: number; logger?: pino.Logger } = {},
): Promise<RunningMachine> {
  const running = await driver.start({
    machine,
    app: testApp(),
    timeoutMs: options.timeoutMs ?? START_TIMEOUT_MS,
    signal: new AbortController().signal,
    logger: options.logger ?? pino({ level: 'silent' }),
  });
  t.after(async () => {
    running.kill();
    await running.exited;
  });
  return running;
}

export function runDriverContract(name: string, harness: DriverHarness): void {
  const { driver } = harness;
  const silent = pino({ level: 'silent' });

  describe(`${name} driver contract`, () => {
    test('start resolves once every internal port accepts connections', async (t) => {
      const running = await startFor(t, driver, await harness.startable(t, [8080, 9090]));
      assert.deepEqual(Object.keys(running.runtime.ports).sort(), ['8080', '9090']);
      for (const port of Object.values(running.runtime.ports)) {
        assert.equal(await accepts(running.runtime.host, port), true, `port ${port}`);
      }
    });

    test('stop resolves with the exit, and exited resolves with the same exit', async (t) => {
      const running = await startFor(t, driver, await harness.startable(t, [8080]));
      const exit = await running.stop('SIGTERM', 2_000);
      assert.deepEqual(await running.exited, exit);
      assert.deepEqual(await running.stop('SIGTERM', 2_000), exit, 'a second stop returns the same exit');
    });

    test('kill ends the machine and exited resolves', async (t) => {
      const running = await startFor(t, driver, await harness.startable(t, [8080]));
      running.kill();
      const exit = await running.exited;
      assert.ok('code' in exit && 'signal' in exit);
    });

    const unreachable = harness.unreachable;
    if (unreachable !== undefined) {
      test('start past the deadline rejects with PM03', async (t) => {
        const machine = await unreachable(t);
        await assert.rejects(
          driver.start({ machine, app: testApp(), timeoutMs: 200, signal: new AbortController().signal, logger: silent }),
          (error: unknown) => error instanceof ProxyError && error.code === 'PM03',
        );
      });

      test('an aborted start rejects with the abort reason', async (t) => {
        const machine = await unreachable(t);
        const abort = new AbortController();
        const reason = new ProxyError('RC05');
        const started = driver.start({ machine, app: testApp(), timeoutMs: START_TIMEOUT_MS, signal: abort.signal, logger: silent });
        setImmediate(() => abort.abort(reason));
        await assert.rejects(started, (error: unknown) => error === reason);
      });
    }

    if (driver.canSuspend) {
      test('suspend then resume leaves the machine reachable', async (t) => {
        const running = await startFor(t, driver, await harness.startable(t, [8080]));
        await running.suspend();
        await running.resume();
        assert.equal(await accepts(running.runtime.host, running.runtime.ports['8080']), true);
      });
    } else {
      test('suspend rejects, so the supervisor stops the machine instead', async (t) => {
        const running = await startFor(t, driver, await harness.startable(t, [8080]));
        await assert.rejects(running.suspend());
      });
    }
  });
}
