import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import type { Service } from '../../src/catalog/types.ts';
import { parseAddress, StaticDriver } from '../../src/machines/drivers/static-driver.ts';
import { freePort } from '../harness/index.ts';
import { runDriverContract, startFor } from './driver-contract.ts';
import { testMachine } from './memory-records.ts';

const driver = new StaticDriver();

/** listen starts a real TCP server on 127.0.0.1:0 and closes it after the test. */
async function listen(t: TestContext): Promise<number> {
  const server: Server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}


function staticMachine(address: string, ports: number[] = [8080]) {
  const services: Service[] = ports.map((port) => ({ protocol: 'tcp', internal_port: port, ports: [] }));
  return testMachine({ config: { services, ricochet: { driver: 'static', address } } });
}

runDriverContract('static', {
  driver,
  startable: async (t, ports) => staticMachine(`127.0.0.1:${await listen(t)}`, ports),
});

describe('StaticDriver', () => {
  test('start maps every internal port to the address and sets no pid', async (t) => {
    const port = await listen(t);
    const running = await startFor(t, driver, staticMachine(`127.0.0.1:${port}`, [8080, 9090]));
    assert.deepEqual(running.runtime, { host: '127.0.0.1', ports: { '8080': port, '9090': port } });
  });

  test('start does not wait for the address: a server that comes up later is routed to', async (t) => {
    const port = await freePort();
    const running = await startFor(t, driver, staticMachine(`127.0.0.1:${port}`));
    assert.deepEqual(running.runtime, { host: '127.0.0.1', ports: { '8080': port } });
  });

  test('stop leaves the process at the address running', async (t) => {
    const port = await listen(t);
    const running = await startFor(t, driver, staticMachine(`127.0.0.1:${port}`));
    assert.deepEqual(await running.stop('SIGINT', 1_000), { code: 0, signal: null });
    const again = await startFor(t, driver, staticMachine(`127.0.0.1:${port}`));
    assert.equal(again.runtime.ports['8080'], port);
  });

  test('a malformed address fails the start with PM05', async (t) => {
    for (const address of ['localhost', '127.0.0.1:', '127.0.0.1:99999', ':80', '[::1]']) {
      await assert.rejects(startFor(t, driver, staticMachine(address)), { code: 'PM05' }, address);
    }
    await assert.rejects(startFor(t, driver, testMachine({ config: { ricochet: { driver: 'static' } } })), { code: 'PM05' });
  });

  test('the driver cannot suspend, so suspend falls back to stop', () => {
    assert.equal(driver.canSuspend, false);
  });

  test('parseAddress reads host:port and bracketed IPv6', () => {
    assert.deepEqual(parseAddress('127.0.0.1:3000'), { host: '127.0.0.1', port: 3000 });
    assert.deepEqual(parseAddress('[::1]:3000'), { host: '::1', port: 3000 });
    assert.deepEqual(parseAddress('app.internal:8080'), { host: 'app.internal', port: 8080 });
    assert.equal(parseAddress('::1:3000'), null);
    assert.equal(parseAddress('host:0'), null);
  });
});
