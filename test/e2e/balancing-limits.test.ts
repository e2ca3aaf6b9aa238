/**
 * Load balancing on the wire (spec §8): soft and hard limits, the hard-limit queue, crossing
 * regions, exact load counts. Every machine is a real HTTP server (static driver) that can hold
 * requests open, so a test decides exactly how loaded each machine is.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { send, startBackend, startNode, type TestNode } from '../harness/index.ts';

interface HoldingBackend {
  name: string;
  address: string;
  /** Requests to /hold... that are still open. */
  held: ServerResponse[];
  /** served counts the requests this backend answered or is holding. */
  served(): number;
  /** heldCount resolves once `n` requests are held here. */
  heldCount(n: number): Promise<void>;
  /** release answers every held request with the backend's name. */
  release(): void;
}

/** holdingBackend answers with its name; requests to /hold wait until `release`. */
async function holdingBackend(t: TestContext, name: string): Promise<HoldingBackend> {
  const held: ServerResponse[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  const backend = await startBackend(t, (req, res) => {
    if (req.url?.startsWith('/hold') === true) {
      held.push(res);
      waiters = waiters.filter((w) => (held.length >= w.n ? (w.resolve(), false) : true));
      return;
    }
    res.end(name);
  });
  return {
    name,
    address: backend.address,
    held,
    served: () => backend.requests.length,
    heldCount: (n) => (held.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    release: () => {
      for (const res of held.splice(0)) res.end(name);
    },
  };
}

/** app writes one [[apps]] table whose machines are the given backends, each in its region. */
function app(name: string, machines: { address: string; region: string }[], concurrency: string, extra = ''): string {
  return `
[[apps]]
name = "${name}"
hostnames = ["${name}.test"]
primary_region = "iad"
${extra}
  [apps.http_service]
  internal_port = 8080
    [apps.http_service.concurrency]
    ${concurrency}
${machines.map((m) => `  [[apps.machines]]\n  region = "${m.region}"\n  address = "${m.address}"\n`).join('')}`;
}

const REGIONS = `region = "iad"\n[regions]\niad = 0\nsjc = 62\n`;

/** machineIdOf finds the id of the machine that runs at `address`. */
function machineIdOf(node: TestNode['node'], address: string): string {
  const machine = node.catalog.machines().find((m) => `${m.runtime?.host}:${Object.values(m.runtime?.ports ?? {})[0]}` === address);
  assert.ok(machine, `no machine at ${address}`);
  return machine.id;
}

test('a machine at its soft limit gets no new request while another local machine is below it', async (t) => {
  const a = await holdingBackend(t, 'a');
  const b = await holdingBackend(t, 'b');
  const { url } = await startNode(t, REGIONS + app('soft', [{ address: a.address, region: 'iad' }, { address: b.address, region: 'iad' }], 'type = "requests"\n    soft_limit = 1'), {
    random: () => 0,
  });
  const first = send(url(), { host: 'soft.test', path: '/hold' });
  await Promise.race([a.heldCount(1), b.heldCount(1)]);
  const busy = a.held.length === 1 ? a : b;
  const idle = busy === a ? b : a;
  for (let i = 0; i < 3; i++) assert.equal((await send(url(), { host: 'soft.test' })).body, idle.name);
  busy.release();
  assert.equal((await first).body, busy.name);
});

test('soft limits never move traffic to another region, hard limits do', async (t) => {
  const local = await holdingBackend(t, 'local');
  const remote = await holdingBackend(t, 'remote');
  const { url } = await startNode(
    t,
    REGIONS + app('regional', [{ address: local.address, region: 'iad' }, { address: remote.address, region: 'sjc' }], 'type = "requests"\n    soft_limit = 1\n    hard_limit = 2'),
  );
  const held = [send(url(), { host: 'regional.test', path: '/hold' })];
  await local.heldCount(1);
  // At its soft limit, the local machine still takes the next request: the remote one is idle.
  held.push(send(url(), { host: 'regional.test', path: '/hold' }));
  await local.heldCount(2);
  assert.equal(remote.served(), 0);
  // At its hard limit it takes nothing more: traffic crosses to sjc.
  assert.equal((await send(url(), { host: 'regional.test' })).body, 'remote');
  local.release();
  assert.deepEqual((await Promise.all(held)).map((r) => r.body), ['local', 'local']);
  // Below its limits again, the local machine is preferred again.
  assert.equal((await send(url(), { host: 'regional.test' })).body, 'local');
});

test('at the hard limit requests wait in FIFO order and run as slots free up', async (t) => {
  const only = await holdingBackend(t, 'only');
  const { url, logs } = await startNode(t, app('queued', [{ address: only.address, region: 'iad' }], 'type = "requests"\n    soft_limit = 1\n    hard_limit = 1'), {
    logLevel: 'debug',
  });
  const order: string[] = [];
  const first = send(url(), { host: 'queued.test', path: '/hold' });
  await only.heldCount(1);
  const queued = ['/hold?n=2', '/hold?n=3'].map((path, i) => {
    const done = send(url(), { host: 'queued.test', path }).then((r) => (order.push(path), r));
    return { done, waiting: i + 1 };
  });
  for (const q of queued) await logs.waitFor((l) => l.msg === 'request queued at hard limit' && l.waiting === q.waiting);
  assert.equal(only.served(), 1);
  only.release();
  await only.heldCount(1);
  assert.equal(only.held.length, 1);
  assert.equal((await first).status, 200);
  only.release();
  await only.heldCount(1);
  only.release();
  const answers = await Promise.all(queued.map((q) => q.done));
  assert.deepEqual(answers.map((r) => r.status), [200, 200]);
  assert.deepEqual(order, ['/hold?n=2', '/hold?n=3']);
});

test('a full hard-limit queue answers 503 PL02 with Retry-After at once', async (t) => {
  const only = await holdingBackend(t, 'only');
  const { url, logs } = await startNode(
    t,
    `[proxy]\nqueue_max_waiters = 1\n` + app('full', [{ address: only.address, region: 'iad' }], 'type = "requests"\n    hard_limit = 1'),
    { logLevel: 'debug' },
  );
  const first = send(url(), { host: 'full.test', path: '/hold' });
  await only.heldCount(1);
  const waiting = send(url(), { host: 'full.test' });
  await logs.waitFor((l) => l.msg === 'request queued at hard limit');
  const refused = await send(url(), { host: 'full.test' });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['ricochet-error'], 'PL02');
  assert.equal(refused.headers['retry-after'], '1');
  only.release();
  assert.equal((await first).status, 200);
  assert.equal((await waiting).status, 200);
});

test('a request that waits at the hard limit longer than queue_max_wait_ms gets 503 PL02', async (t) => {
  const only = await holdingBackend(t, 'only');
  const { url } = await startNode(
    t,
    `[proxy]\nqueue_max_wait_ms = 50\n` + app('slow', [{ address: only.address, region: 'iad' }], 'type = "requests"\n    hard_limit = 1'),
  );
  const first = send(url(), { host: 'slow.test', path: '/hold' });
  await only.heldCount(1);
  const late = await send(url(), { host: 'slow.test' });
  assert.equal(late.status, 503);
  assert.equal(late.headers['ricochet-error'], 'PL02');
  assert.equal(late.headers['retry-after'], '1');
  only.release();
  assert.equal((await first).status, 200);
});

test('each public port has its own hard-limit queue; load is the machine\'s, across its services', async (t) => {
  const only = await holdingBackend(t, 'only');
  const service = (internal: number, port: number) => `
  [[apps.services]]
  internal_port = ${internal}
  protocol = "tcp"
    [[apps.services.ports]]
    port = ${port}
    handlers = ["http"]
    [apps.services.concurrency]
    type = "requests"
    hard_limit = 1
`;
  const { url, logs, node } = await startNode(
    t,
    `[[apps]]\nname = "ports"\nhostnames = ["ports.test"]\n${service(8080, 80)}${service(9090, 8081)}  [[apps.machines]]\n  address = "${only.address}"\n`,
    { logLevel: 'debug', publicPorts: [80, 8081] },
  );
  const held = send(url(80), { host: 'ports.test', path: '/hold' });
  await only.heldCount(1);
  const waiting = send(url(8081), { host: 'ports.test' });
  await logs.waitFor((l) => l.msg === 'request queued at hard limit' && l.queue === 'ports:8081');
  assert.deepEqual(node.runtime.queue.keys(), ['ports:8081']);
  only.release();
  assert.equal((await waiting).status, 200);
  assert.equal((await held).status, 200);
});

test('load counts stay exact through errors, client aborts and replays', async (t) => {
  const target = await startBackend(t, (_req, res) => res.end('target'));
  const replayer = await startBackend(t, (req, res) => {
    if (req.url === '/replay') {
      res.writeHead(409, { 'fly-replay': 'app=target' });
      res.end();
      return;
    }
    if (req.url === '/reset') {
      req.socket.destroy();
      return;
    }
    // /hang: never answers; the client gives up.
  });
  const { url, node } = await startNode(
    t,
    app('replayer', [{ address: replayer.address, region: 'iad' }], 'type = "requests"') + app('target', [{ address: target.address, region: 'iad' }], 'type = "requests"'),
  );
  const load = node.runtime.load;
  assert.equal((await send(url(), { host: 'replayer.test', path: '/replay' })).body, 'target');
  assert.equal(load.total(), 0);
  assert.equal((await send(url(), { host: 'replayer.test', method: 'POST', path: '/reset', body: 'x' })).status, 502);
  assert.equal(load.total(), 0);
  const aborted = new AbortController();
  const hanging = request(`${url()}/hang`, { headers: { host: 'replayer.test' }, signal: aborted.signal }).catch((error: unknown) => error);
  await new Promise<void>((resolve) => replayer.server.once('request', () => resolve()));
  assert.equal(load.load(machineIdOf(node, replayer.address)), 1);
  aborted.abort();
  await hanging;
  if (load.total() > 0) await load.idle(machineIdOf(node, replayer.address), 5_000);
  assert.equal(load.total(), 0);
});
