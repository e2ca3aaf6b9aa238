import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { Catalog } from '../../src/catalog/catalog.ts';
import { SqliteStore } from '../../src/catalog/sqlite-store.ts';
import type { Machine, Service, ServiceCheck, TopLevelCheck } from '../../src/catalog/types.ts';
import { HEALTH_MAX_CONCURRENT_CHECKS, HealthMonitor } from '../../src/machines/health.ts';
import { captureLogger, type CapturedLogger } from './capture-logger.ts';
import { testApp, testMachine } from './memory-records.ts';

/** FakeTimers records every timer the monitor sets; tests fire them by hand. */
class FakeTimers {
  #next = 0;
  pending = new Map<number, { fn: () => void; ms: number }>();
  set = (fn: () => void, ms: number): unknown => {
    const handle = ++this.#next;
    this.pending.set(handle, { fn, ms });
    return handle;
  };
  clear = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };
  /** withDelay lists the pending timers set for `ms`. */
  withDelay(ms: number): number[] {
    return [...this.pending].filter(([, timer]) => timer.ms === ms).map(([handle]) => handle);
  }
  fire(handle: number): void {
    const timer = this.pending.get(handle);
    assert.ok(timer, `timer ${handle} is pending`);
    this.pending.delete(handle);
    timer.fn();
  }
}

interface Setup {
  catalog: Catalog;
  monitor: HealthMonitor;
  log: CapturedLogger;
  timers: FakeTimers;
  clock: { now: number };
}

function setup(t: TestContext): Setup {
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  const catalog = new Catalog(new SqliteStore(':memory:'), { baseDomain: 'localhost', now });
  t.after(() => catalog.close());
  catalog.putApp(testApp());
  const log = captureLogger();
  const timers = new FakeTimers();
  const monitor = new HealthMonitor({ records: catalog, logger: log.logger, now, setTimer: timers.set, clearTimer: timers.clear });
  t.after(() => monitor.stop());
  return { catalog, monitor, log, timers, clock };
}

/**
 * startedMachine is a machine record started now (by the setup's clock), as the supervisor
 * leaves it, whose service on internal port 8080 runs `checks` at local `port`.
 */
function startedMachine(s: Setup, port: number, checks: ServiceCheck[], extra: { topLevel?: Record<string, TopLevelCheck> } = {}): Machine {
  const service: Service = { protocol: 'tcp', internal_port: 8080, ports: [{ port: 80, handlers: ['http'] }], checks };
  return testMachine({
    state: 'started',
    events: [{ type: 'start', status: 'started', source: 'ricochet', timestamp: s.clock.now }],
    runtime: { host: '127.0.0.1', ports: { '8080': port } },
    config: { services: [service], checks: extra.topLevel ?? {} },
  });
}

/** machineServer is an HTTP server standing in for a machine; `status` is what it answers. */
async function machineServer(t: TestContext) {
  const state = {
    status: 200,
    location: undefined as string | undefined,
    requests: [] as http.IncomingMessage[],
    hang: false,
  };
  const server = http.createServer((request, response) => {
    state.requests.push(request);
    if (state.hang) return;
    if (state.location !== undefined) response.setHeader('location', state.location);
    response.statusCode = state.status;
    response.end(state.status >= 200 && state.status < 300 ? 'ok' : 'not ok');
  });
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { state, server, port: (server.address() as net.AddressInfo).port };
}

/** SELF_SIGNED_* is a throwaway self-signed certificate (CN=machine.test) for https checks. */
const SELF_SIGNED_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguP0hmHeE/N3ebFoI
/DAyZUfdE8m+FjylzrEMW+E4TCOhRANCAASFirBNk7KKxrW6Ij9od4tPFZ3qTAqT
gScWLxTMMNT7pP5kFIooUPYxZhH94DX1d9+xDvU13VTmEfpQGK0wWswu
-----END PRIVATE KEY-----
`;
const SELF_SIGNED_CERT = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIUZnG/x9GpNjzDox+pUv3Nq3cnnTIwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMbWFjaGluZS50ZXN0MCAXDTI2MTEyMjAzMjYwNVoYDzIxMjYx
MDI5MDMyNjA1WjAXMRUwEwYDVQQDDAxtYWNoaW5lLnRlc3QwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASFirBNk7KKxrW6Ij9od4tPFZ3qTAqTgScWLxTMMNT7pP5k
FIooUPYxZhH94DX1d9+xDvU13VTmEfpQGK0wWswuo1MwUTAdBgNVHQ4EFgQUtEoW
1eaHTSW+t1tJRBIMZVDAlegwHwYDVR0jBBgwFoAUtEoW1eaHTSW+t1tJRBIMZVDA
legwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiA3ubtVrX33aW+V
Negx4NQ7sCuTyT8IbbU8Qt+Gu8kNZQIhANI3oRAdJEk8hoIGmiBqIfvGddX4QPls
QtO6MadzPd5D
-----END CERTIFICATE-----
`;

const afterGrace = (s: Setup): void => {
  s.clock.now += 1_001;
};

test('an http check marks a machine unhealthy while it fails and healthy once it passes again', async (t) => {
  const s = setup(t);
  const backend = await machineServer(t);
  const machine = s.catalog.putMachine(startedMachine(s, backend.port, [{ type: 'http', path: '/healthz' }]));
  afterGrace(s);

  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), true);
  assert.deepEqual(
    s.catalog.get(machine.id)!.checks.map((c) => [c.name, c.status]),
    [['servicecheck-00-http-8080', 'passing']],
  );

  backend.state.status = 503;
  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), false);
  const critical = s.catalog.get(machine.id)!.checks[0];
  assert.equal(critical.status, 'critical');
  assert.match(critical.output, /503/);

  backend.state.status = 204;
  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), true);
  assert.equal(s.catalog.get(machine.id)!.checks[0].status, 'passing');

  const changes = s.log.lines.filter((line) => line.msg === 'machine health changed');
  assert.deepEqual(
    changes.map((line) => [line.machine, line.app, line.check, line.from, line.to]),
    [
      [machine.id, 'tenant', 'servicecheck-00-http-8080', 'unknown', 'passing'],
      [machine.id, 'tenant', 'servicecheck-00-http-8080', 'passing', 'critical'],
      [machine.id, 'tenant', 'servicecheck-00-http-8080', 'critical', 'passing'],
    ],
  );
  assert.ok(changes.every((line) => typeof line.output === 'string'));
});

test('a check that keeps passing writes the machine record only once', async (t) => {
  const s = setup(t);
  const backend = await machineServer(t);
  const machine = s.catalog.putMachine(startedMachine(s, backend.port, [{ type: 'http' }]));
  afterGrace(s);
  await s.monitor.checkNow(machine.id);
  const first = s.catalog.get(machine.id)!;
  s.clock.now += 60_000;
  await s.monitor.checkNow(machine.id);
  await s.monitor.checkNow(machine.id);
  assert.equal(backend.state.requests.length, 3);
  assert.equal(s.catalog.get(machine.id)!.updated_at, first.updated_at);
  assert.equal(s.log.lines.filter((line) => line.msg === 'machine health changed').length, 1);
});

test('an http check counts a redirect as failing and does not follow it', async (t) => {
  const s = setup(t);
  const backend = await machineServer(t);
  backend.state.status = 302;
  backend.state.location = '/elsewhere';
  const machine = s.catalog.putMachine(startedMachine(s, backend.port, [{ type: 'http', path: '/healthz' }]));
  afterGrace(s);
  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), false);
  assert.deepEqual(backend.state.requests.map((r) => r.url), ['/healthz']);
  assert.match(s.catalog.get(machine.id)!.checks[0].output, /302/);
});

test('an http check sends its method, path and headers to the mapped local port', async (t) => {
  const s = setup(t);
  const backend = await machineServer(t);
  const check: ServiceCheck = {
    type: 'http',
    method: 'head',
    path: '/status?deep=1',
    headers: [{ name: 'X-Check', values: ['yes'] }],
  };
  const machine = s.catalog.putMachine(startedMachine(s, backend.port, [check]));
  await s.monitor.checkNow(machine.id);
  const [request] = backend.state.requests;
  assert.equal(request.method, 'HEAD');
  assert.equal(request.url, '/status?deep=1');
  assert.equal(request.headers['x-check'], 'yes');
  assert.equal(s.monitor.healthy(machine.id), true);
});

test('an https check passes on a self-signed certificate only with tls_skip_verify', async (t) => {
  const s = setup(t);
  const server = https.createServer({ key: SELF_SIGNED_KEY, cert: SELF_SIGNED_CERT }, (_request, response) => response.end('ok'));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const trusting = s.catalog.putMachine(startedMachine(s, port, [{ type: 'http', protocol: 'https', tls_skip_verify: true }]));
  const verifying = s.catalog.putMachine(startedMachine(s, port, [{ type: 'http', protocol: 'https' }]));
  afterGrace(s);
  await s.monitor.checkNow(trusting.id);
  await s.monitor.checkNow(verifying.id);
  assert.equal(s.monitor.healthy(trusting.id), true);
  assert.equal(s.monitor.healthy(verifying.id), false);
  assert.match(s.catalog.get(verifying.id)!.checks[0].output, /certificate/);
});

test('a tcp check fails while nothing listens and passes once the machine listens again', async (t) => {
  const s = setup(t);
  const server = net.createServer((socket) => socket.destroy());
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const machine = s.catalog.putMachine(startedMachine(s, port, [{ type: 'tcp' }]));
  afterGrace(s);

  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), true);
  assert.equal(s.catalog.get(machine.id)!.checks[0].name, 'servicecheck-00-tcp-8080');

  server.close();
  await once(server, 'close');
  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), false);
  assert.match(s.catalog.get(machine.id)!.checks[0].output, /ECONNREFUSED/);

  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), true);
});

test('failures during the grace period after a start do not count', async (t) => {
  const s = setup(t);
  const backend = await machineServer(t);
  backend.state.status = 500;
  const machine = s.catalog.putMachine(startedMachine(s, backend.port, [{ type: 'http', grace_period: '5s' }]));

  await s.monitor.checkNow(machine.id);
  s.clock.now += 4_000;
  await s.monitor.checkNow(machine.id);
  assert.equal(backend.state.requests.length, 2);
  assert.equal(s.monitor.healthy(machine.id), true);
  assert.deepEqual(s.catalog.get(machine.id)!.checks, []);

  s.clock.now += 1_000;
  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), false);
});

test('a check that gets no answer within its timeout fails', async (t) => {
  const s = setup(t);
  const backend = await machineServer(t);
  backend.state.hang = true;
  const machine = s.catalog.putMachine(startedMachine(s, backend.port, [{ type: 'http', timeout: '3s' }]));
  afterGrace(s);

  const checked = s.monitor.checkNow(machine.id);
  await once(backend.server, 'request');
  const [timeout] = s.timers.withDelay(3_000);
  s.timers.fire(timeout);
  await checked;
  assert.equal(s.monitor.healthy(machine.id), false);
  assert.match(s.catalog.get(machine.id)!.checks[0].output, /timed out after 3000 ms/);
  assert.equal(s.timers.pending.size, 0);
});

test('a machine that starts again gets a fresh grace period and forgets its failures', async (t) => {
  const s = setup(t);
  const backend = await machineServer(t);
  backend.state.status = 500;
  const machine = s.catalog.putMachine(startedMachine(s, backend.port, [{ type: 'http' }]));
  afterGrace(s);
  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), false);

  s.catalog.recordEvent(machine.id, { type: 'restart', status: 'started', source: 'ricochet' });
  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), true);
  afterGrace(s);
  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), false);
});

test('top-level checks are not run and do not affect routing', async (t) => {
  const s = setup(t);
  const server = net.createServer((socket) => socket.destroy());
  let connections = 0;
  server.on('connection', () => (connections += 1));
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const machine = s.catalog.putMachine(
    startedMachine(s, port, [], { topLevel: { alive: { type: 'tcp', port: 8080, kind: 'readiness' } } }),
  );
  s.monitor.start();
  afterGrace(s);
  await s.monitor.checkNow(machine.id);
  assert.equal(connections, 0);
  assert.equal(s.timers.pending.size, 0);
  assert.equal(s.monitor.healthy(machine.id), true);
  assert.deepEqual(s.catalog.get(machine.id)!.checks, []);
});

test('a machine that stops while failing is healthy again and no longer checked', async (t) => {
  const s = setup(t);
  const backend = await machineServer(t);
  backend.state.status = 500;
  const machine = s.catalog.putMachine(startedMachine(s, backend.port, [{ type: 'http' }]));
  s.monitor.start();
  afterGrace(s);
  await s.monitor.checkNow(machine.id);
  assert.equal(s.monitor.healthy(machine.id), false);
  assert.equal(s.timers.pending.size, 1);

  s.catalog.update(machine.id, { state: 'stopped', runtime: null });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(s.monitor.healthy(machine.id), true);
  assert.equal(s.timers.pending.size, 0);
});

test('start schedules each check after its grace period, then every interval', async (t) => {
  const s = setup(t);
  const backend = await machineServer(t);
  s.monitor.start();
  const machine = s.catalog.putMachine(startedMachine(s, backend.port, [{ type: 'http', grace_period: '2s', interval: '10s' }]));
  await new Promise((resolve) => setImmediate(resolve));
  const [first] = s.timers.withDelay(2_000);
  assert.ok(first !== undefined, 'the first check waits for the grace period');
  s.clock.now += 2_000;
  s.timers.fire(first);
  await s.log.waitFor((line) => line.msg === 'machine health changed' && line.machine === machine.id);
  assert.equal(backend.state.requests.length, 1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(s.timers.withDelay(10_000).length, 1);
  assert.equal(s.timers.pending.size, 1);

  s.catalog.deleteMachine(machine.id);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(s.timers.pending.size, 0);
});

test('stop clears every timer and aborts checks in flight', async (t) => {
  const s = setup(t);
  const backend = await machineServer(t);
  backend.state.hang = true;
  const machines = [0, 1, 2].map(() => s.catalog.putMachine(startedMachine(s, backend.port, [{ type: 'http' }, { type: 'http', path: '/other' }])));
  s.monitor.start();
  assert.equal(s.timers.pending.size, 6);
  afterGrace(s);
  const checked = s.monitor.checkNow(machines[0].id);
  await once(backend.server, 'request');
  s.monitor.stop();
  await checked;
  assert.equal(s.timers.pending.size, 0);
  assert.ok(machines.every((m) => s.monitor.healthy(m.id)));
  assert.deepEqual(s.catalog.get(machines[0].id)!.checks, []);
});

test(`at most ${HEALTH_MAX_CONCURRENT_CHECKS} checks run at once`, async (t) => {
  const s = setup(t);
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => sockets.push(socket));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const count = HEALTH_MAX_CONCURRENT_CHECKS + 1;
  const machines = Array.from({ length: count }, () => s.catalog.putMachine(startedMachine(s, port, [{ type: 'http', timeout: '7s' }])));
  afterGrace(s);

  const checked = Promise.all(machines.map((m) => s.monitor.checkNow(m.id)));
  while (sockets.length < HEALTH_MAX_CONCURRENT_CHECKS) await once(server, 'connection');
  // Each running check holds one timeout timer; the one over the bound has not started.
  assert.equal(s.timers.withDelay(7_000).length, HEALTH_MAX_CONCURRENT_CHECKS);
  s.timers.fire(s.timers.withDelay(7_000)[0]);
  while (sockets.length < count) await once(server, 'connection');
  for (const handle of s.timers.withDelay(7_000)) s.timers.fire(handle);
  await checked;
  assert.ok(machines.every((m) => !s.monitor.healthy(m.id)));
});
