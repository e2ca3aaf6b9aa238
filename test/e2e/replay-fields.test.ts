/**
 * fly-replay fields on the wire (spec §1, §2, §6; docs/replay.md): what the client gets, what the
 * target gets, and where each field sends the request. Every app is a real HTTP server.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { send, startBackend, startNode, type Backend, type TestNode } from '../harness/index.ts';

interface Echo {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  sha256: string;
  length: number;
}

const REGIONS = `region = "iad"
[regions]
iad = 0
sjc = 62
ams = 80
`;

/** machine is one `[[apps.machines]]` entry for a static machine. */
function machine(backend: Backend, region = 'iad'): string {
  return `  [[apps.machines]]\n  region = "${region}"\n  address = "${backend.address}"\n`;
}

/** app is one `[[apps]]` entry with an http_service on public port 80. */
function app(name: string, machines: string, extra = ''): string {
  return `[[apps]]\nname = "${name}"\nhostnames = ["${name}.test"]\n${extra}\n  [apps.http_service]\n  internal_port = 8080\n${machines}\n`;
}

/** echo answers with what it received, so a test can compare it with what the client sent. */
function echo(name: string) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const reply: Echo = {
      name,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      sha256: createHash('sha256').update(body).digest('hex'),
      length: body.length,
    };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(reply));
  };
}

/** replayer answers every request that was not itself replayed with `fly-replay: <value>`. */
function replayer(value: string, status = 409) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers['fly-replay-src'] !== undefined) return echo('replayed-back')(req, res);
    res.writeHead(status, { 'fly-replay': value, 'content-type': 'text/html', location: '/somewhere-else', 'x-router': 'yes' });
    res.end('<p>replaying</p>');
  };
}

async function json(res: { body: string }): Promise<Echo> {
  return JSON.parse(res.body) as Echo;
}

function idOf(node: TestNode, appName: string, backend: Backend): string {
  const found = node.node.catalog.machines(appName).find((m) => m.config.ricochet.address === backend.address);
  assert.ok(found, `no machine of ${appName} at ${backend.address}`);
  return found.id;
}

async function routerAndTarget(t: TestContext, replay: string, status = 409) {
  const router = await startBackend(t, replayer(replay, status));
  const target = await startBackend(t, echo('target'));
  const node = await startNode(t, REGIONS + app('router', machine(router)) + app('target', machine(target)));
  return { router, target, node };
}

for (const status of [200, 302, 307, 409]) {
  test(`a replaying response with status ${status} never reaches the client`, async (t) => {
    const { node } = await routerAndTarget(t, 'app=target', status);
    const res = await send(node.url(), { host: 'router.test', path: '/page' });
    assert.equal(res.status, 200);
    assert.equal((await json(res)).name, 'target');
    assert.equal(res.headers['location'], undefined);
    assert.equal(res.headers['fly-replay'], undefined);
    assert.equal(res.headers['x-router'], undefined);
    assert.doesNotMatch(res.body, /replaying/);
  });
}

test('the replaying response body is drained so the connection to the replaying machine is reused', async (t) => {
  const ports: number[] = [];
  const router = await startBackend(t, (req, res) => {
    ports.push(req.socket.remotePort ?? 0);
    res.writeHead(409, { 'fly-replay': 'app=target' });
    res.end('x'.repeat(256 * 1024));
  });
  const target = await startBackend(t, echo('target'));
  const node = await startNode(t, REGIONS + app('router', machine(router)) + app('target', machine(target)));
  for (let i = 0; i < 3; i++) {
    const res = await send(node.url(), { host: 'router.test' });
    assert.equal(res.status, 200);
  }
  assert.equal(ports.length, 3);
  assert.equal(new Set(ports).size, 1, 'all three requests came over one keep-alive connection');
});

test('a replaying response body over the drain limit is cut off: the replay still happens, on a new connection next time', async (t) => {
  const ports: number[] = [];
  const router = await startBackend(t, (req, res) => {
    ports.push(req.socket.remotePort ?? 0);
    res.writeHead(409, { 'fly-replay': 'app=target' });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    // Endless: only the proxy giving up ends this response.
    const pump = () => {
      while (res.write(chunk));
      res.once('drain', pump);
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  });
  const target = await startBackend(t, echo('target'));
  const node = await startNode(t, REGIONS + app('router', machine(router)) + app('target', machine(target)));
  for (let i = 0; i < 2; i++) {
    const res = await send(node.url(), { host: 'router.test' });
    assert.equal(res.status, 200);
    assert.equal((await json(res)).name, 'target');
  }
  assert.equal(new Set(ports).size, 2, 'the cut-off connection was not reused');
});

test('a replay re-sends the original method, path, query, headers and body', async (t) => {
  let seenByRouter: Echo | undefined;
  const router = await startBackend(t, async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    seenByRouter = { name: 'router', method: req.method!, url: req.url!, headers: req.headers, sha256: '', length: Buffer.concat(chunks).length };
    res.writeHead(307, { 'fly-replay': 'app=target' }).end();
  });
  const target = await startBackend(t, echo('target'));
  const node = await startNode(t, REGIONS + app('router', machine(router)) + app('target', machine(target)));
  const body = 'name=value&other=thing';
  const res = await send(node.url(), {
    host: 'router.test',
    method: 'PATCH',
    path: '/a/b%20c?x=1&y=2&x=3',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-custom': 'one', cookie: 'session=abc; theme=dark', authorization: 'Bearer t' },
    body,
  });
  const got = await json(res);
  assert.equal(got.name, 'target');
  assert.equal(got.method, 'PATCH');
  assert.equal(got.url, '/a/b%20c?x=1&y=2&x=3');
  assert.equal(got.sha256, createHash('sha256').update(body).digest('hex'));
  for (const name of ['content-type', 'x-custom', 'cookie', 'authorization', 'content-length', 'host', 'x-forwarded-for', 'fly-client-ip']) {
    assert.deepEqual(got.headers[name], seenByRouter?.headers[name], `header ${name}`);
  }
});

test('a replay to another app goes to its service with the same public port', async (t) => {
  const router = await startBackend(t, replayer('app=target'));
  const web = await startBackend(t, echo('target-web'));
  const admin = await startBackend(t, echo('target-admin'));
  const services = (port: number) => `  [[apps.services]]
  internal_port = ${port === 80 ? 8080 : 9090}
  protocol = "tcp"
    [[apps.services.ports]]
    port = ${port}
    handlers = ["http"]
`;
  const toml =
    REGIONS +
    `[[apps]]\nname = "router"\nhostnames = ["router.test"]\n${services(80)}${services(9090)}${machine(router)}\n` +
    `[[apps]]\nname = "target"\n${services(80)}${services(9090)}${machine(web)}\n`;
  const node = await startNode(t, toml, { publicPorts: [80, 9090] });
  // One static machine serves every internal port; point internal 9090 at a second server.
  const [target] = node.node.catalog.machines('target');
  node.node.catalog.update(target.id, { runtime: { host: '127.0.0.1', ports: { '8080': web.port, '9090': admin.port } } });
  const on80 = await json(await send(node.url(80), { host: 'router.test' }));
  const on9090 = await json(await send(node.url(9090), { host: 'router.test' }));
  assert.equal(on80.name, 'target-web');
  assert.equal(on9090.name, 'target-admin');
  assert.equal(on9090.headers['fly-forwarded-port'], '9090');
});

test('a replay to an app with no service on the request port is answered 503 PR01', async (t) => {
  const router = await startBackend(t, replayer('app=target'));
  const target = await startBackend(t, echo('target'));
  const toml =
    REGIONS +
    app('router', machine(router)) +
    `[[apps]]\nname = "target"\n  [[apps.services]]\n  internal_port = 9090\n  protocol = "tcp"\n    [[apps.services.ports]]\n    port = 9090\n    handlers = ["http"]\n${machine(target)}`;
  const node = await startNode(t, toml, { publicPorts: [80, 9090] });
  const res = await send(node.url(), { host: 'router.test' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['ricochet-error'], 'PR01');
  assert.equal(target.requests.length, 0);
});

test('elsewhere=true never sends the request back to the machine that replayed it', async (t) => {
  const make = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers['fly-replay-src'] === undefined) res.writeHead(409, { 'fly-replay': 'elsewhere=true' }).end();
    else res.end(`${name} after ${req.headers['fly-replay-src']}`);
  };
  const one = await startBackend(t, make('one'));
  const two = await startBackend(t, make('two'));
  const node = await startNode(t, REGIONS + app('pair', machine(one) + machine(two)));
  const oneId = idOf(node, 'pair', one);
  const twoId = idOf(node, 'pair', two);
  for (let i = 0; i < 20; i++) {
    const res = await send(node.url(), { host: 'pair.test' });
    assert.equal(res.status, 200);
    const [answeredBy, , src] = res.body.split(' ');
    const replayedBy = /instance=([^;]+)/.exec(src)?.[1];
    assert.notEqual(answeredBy === 'one' ? oneId : twoId, replayedBy);
  }
});

test('elsewhere=true with no other machine is answered 503 PR01', async (t) => {
  const only = await startBackend(t, (_req, res) => res.writeHead(409, { 'fly-replay': 'elsewhere=true' }).end());
  const node = await startNode(t, REGIONS + app('solo', machine(only)));
  const res = await send(node.url(), { host: 'solo.test' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['ricochet-error'], 'PR01');
});

test('instance= routes to exactly that machine of the target app', async (t) => {
  const a = await startBackend(t, echo('a'));
  const b = await startBackend(t, echo('b'));
  const router = await startBackend(t, (req, res) => res.writeHead(409, { 'fly-replay': String(req.headers['x-want']) }).end());
  const node = await startNode(t, REGIONS + app('router', machine(router)) + app('target', machine(a) + machine(b, 'sjc')));
  const bId = idOf(node, 'target', b);
  for (let i = 0; i < 5; i++) {
    const res = await send(node.url(), { host: 'router.test', headers: { 'x-want': `app=target;instance=${bId}` } });
    assert.equal((await json(res)).name, 'b');
  }
});

test('instance= naming no machine of the target app is answered 503 PR02', async (t) => {
  const { node } = await routerAndTarget(t, 'app=target;instance=00000000000000');
  const res = await send(node.url(), { host: 'router.test' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['ricochet-error'], 'PR02');
});

test('region= routes to a machine in that region rather than the nearest one', async (t) => {
  const near = await startBackend(t, echo('iad'));
  const far = await startBackend(t, echo('sjc'));
  const router = await startBackend(t, (req, res) => res.writeHead(409, { 'fly-replay': String(req.headers['x-want']) }).end());
  const node = await startNode(t, REGIONS + app('router', machine(router)) + app('target', machine(near) + machine(far, 'sjc')));
  const want = async (value: string) => (await json(await send(node.url(), { host: 'router.test', headers: { 'x-want': value } }))).name;
  assert.equal(await want('app=target;region=sjc'), 'sjc');
  assert.equal(await want('app=target'), 'iad', 'without region the nearest machine');
  assert.equal(await want('app=target;region="ams,sjc,iad"'), 'sjc', 'the first listed region with a machine');
  assert.equal(await want('app=target;region="ams,any"'), 'iad', 'any falls back to the nearest machine');
  assert.equal(await want('app=target;region=us'), 'iad', 'an alias: the nearest of its regions');
});

test('region= naming only regions without a machine is answered 503 PR04', async (t) => {
  const { node, target } = await routerAndTarget(t, 'app=target;region=ams');
  const res = await send(node.url(), { host: 'router.test' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['ricochet-error'], 'PR04');
  assert.equal(target.requests.length, 0);
});

test('prefer_instance routes to the preferred machine when it can take the request', async (t) => {
  const a = await startBackend(t, echo('a'));
  const b = await startBackend(t, echo('b'));
  const router = await startBackend(t, (req, res) => res.writeHead(409, { 'fly-replay': String(req.headers['x-want']) }).end());
  const node = await startNode(t, REGIONS + app('router', machine(router)) + app('target', machine(a) + machine(b, 'sjc')));
  const res = await json(await send(node.url(), { host: 'router.test', headers: { 'x-want': `app=target;prefer_instance=${idOf(node, 'target', b)}` } }));
  assert.equal(res.name, 'b');
  assert.equal(res.headers['fly-preferred-instance-unavailable'], undefined);
});

test('prefer_instance falls back to another machine and sets fly-preferred-instance-unavailable', async (t) => {
  const { node } = await routerAndTarget(t, 'app=target;prefer_instance=0123456789abcd');
  const res = await json(await send(node.url(), { host: 'router.test' }));
  assert.equal(res.name, 'target');
  assert.equal(res.headers['fly-preferred-instance-unavailable'], '0123456789abcd');
});

test('prefer_instance falls back when the preferred machine is at its hard limit', async (t) => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let arrived: () => void = () => {};
  const busy = new Promise<void>((resolve) => (arrived = resolve));
  const a = await startBackend(t, async (req, res) => {
    if (req.url === '/hold') {
      arrived();
      await held;
    }
    await echo('a')(req, res);
  });
  const b = await startBackend(t, echo('b'));
  const router = await startBackend(t, (req, res) => res.writeHead(409, { 'fly-replay': String(req.headers['x-want']) }).end());
  const limits = `  [apps.http_service.concurrency]\n  type = "requests"\n  soft_limit = 1\n  hard_limit = 1\n`;
  const toml =
    REGIONS +
    app('router', machine(router)) +
    `[[apps]]\nname = "target"\nhostnames = ["target.test"]\n  [apps.http_service]\n  internal_port = 8080\n${limits}${machine(a)}${machine(b, 'sjc')}`;
  const node = await startNode(t, toml);
  const aId = idOf(node, 'target', a);
  t.after(() => release());
  const holding = send(node.url(), { host: 'target.test', path: '/hold', headers: { 'fly-force-instance-id': aId } });
  await busy;
  const res = await json(await send(node.url(), { host: 'router.test', headers: { 'x-want': `app=target;prefer_instance=${aId}` } }));
  assert.equal(res.name, 'b');
  assert.equal(res.headers['fly-preferred-instance-unavailable'], aId);
  release();
  assert.equal((await holding).status, 200);
});

test('fly-replay-src is instance=…;region=…;t=<µs>;state=… exactly, with no spaces', async (t) => {
  const { node, router } = await routerAndTarget(t, 'app=target;state=pre-shared key 1');
  const before = Date.now() * 1000;
  const got = await json(await send(node.url(), { host: 'router.test' }));
  const after = Date.now() * 1000;
  const src = String(got.headers['fly-replay-src']);
  const match = /^instance=([^;]+);region=iad;t=(\d{16});state=pre-shared key 1$/.exec(src);
  assert.ok(match, src);
  assert.equal(match[1], idOf(node, 'router', router));
  const t0 = Number(match[2]);
  assert.ok(t0 >= before - 1000 && t0 <= after + 1000, `t=${t0} is microseconds since the epoch`);
  // Fly's Ruby client reads state with this exact pattern (spec §6.1).
  assert.equal(/(?:^|;)state=([^;]*)/.exec(src)?.[1], 'pre-shared key 1');
});

test('fly-replay-src leaves out state= when the replay had none', async (t) => {
  const { node } = await routerAndTarget(t, 'app=target');
  const got = await json(await send(node.url(), { host: 'router.test' }));
  assert.match(String(got.headers['fly-replay-src']), /^instance=[^;]+;region=iad;t=\d{16}$/);
});

test('the region in fly-replay-src is the region of the replaying machine', async (t) => {
  const router = await startBackend(t, replayer('app=target'));
  const target = await startBackend(t, echo('target'));
  const node = await startNode(t, REGIONS + app('router', machine(router, 'sjc')) + app('target', machine(target)));
  const got = await json(await send(node.url(), { host: 'router.test' }));
  assert.match(String(got.headers['fly-replay-src']), /;region=sjc;/);
});

test('a replay to an app that does not exist is answered 502 PA04', async (t) => {
  const { node } = await routerAndTarget(t, 'app=nobody');
  const res = await send(node.url(), { host: 'router.test' });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PA04');
  assert.match(res.body, /^PA04: /);
});

test('a replay to an app of another org is refused 403 PA05', async (t) => {
  const router = await startBackend(t, replayer('app=target'));
  const target = await startBackend(t, echo('target'));
  const node = await startNode(t, REGIONS + app('router', machine(router)) + app('target', machine(target), 'org = "acme"'));
  const res = await send(node.url(), { host: 'router.test' });
  assert.equal(res.status, 403);
  assert.equal(res.headers['ricochet-error'], 'PA05');
  assert.equal(target.requests.length, 0);
});

test("a replay to another org is allowed when the target org's replay_sources names the source org", async (t) => {
  const router = await startBackend(t, replayer('app=target'));
  const back = await startBackend(t, replayer('app=router'));
  const target = await startBackend(t, echo('target'));
  const toml =
    REGIONS.replace('[regions]', '[orgs.acme]\nreplay_sources = ["personal"]\n[regions]') +
    app('router', machine(router)) +
    app('target', machine(target), 'org = "acme"') +
    app('back', machine(back), 'org = "acme"');
  const node = await startNode(t, toml);
  assert.equal((await json(await send(node.url(), { host: 'router.test' }))).name, 'target');
  // The allow-list is one way: acme may not replay into personal.
  const res = await send(node.url(), { host: 'back.test' });
  assert.equal(res.headers['ricochet-error'], 'PA05');
});

test('an invalid fly-replay is answered 502 PA03 and logged', async (t) => {
  const { node } = await routerAndTarget(t, 'app=target;colour=blue');
  const res = await send(node.url(), { host: 'router.test' });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PA03');
  await node.logs.waitFor((line) => line.code === 'PA03' && line.msg === 'request failed');
});

test('instance and app may be written with a comma between fields, as in the blueprint', async (t) => {
  const { node } = await routerAndTarget(t, 'app=target,state=abc');
  const got = await json(await send(node.url(), { host: 'router.test' }));
  assert.match(String(got.headers['fly-replay-src']), /;state=abc$/);
});

/** jsonRouter answers with a replay JSON body, and optionally a fly-replay header too. */
async function jsonRouter(t: TestContext, body: unknown, header?: string) {
  const router = await startBackend(t, (_req, res) => {
    const headers: Record<string, string> = { 'content-type': 'application/vnd.fly.replay+json' };
    if (header !== undefined) headers['fly-replay'] = header;
    res.writeHead(200, headers).end(JSON.stringify(body));
  });
  const target = await startBackend(t, echo('target'));
  const other = await startBackend(t, echo('other'));
  const node = await startNode(t, REGIONS + app('router', machine(router)) + app('target', machine(target)) + app('other', machine(other)));
  return { node };
}

test('a JSON replay body routes like the header form', async (t) => {
  const { node } = await jsonRouter(t, { app: 'target', state: 'from-json' });
  const got = await json(await send(node.url(), { host: 'router.test' }));
  assert.equal(got.name, 'target');
  assert.match(String(got.headers['fly-replay-src']), /;state=from-json$/);
});

test('a JSON replay body wins over a fly-replay header on the same response', async (t) => {
  const { node } = await jsonRouter(t, { app: 'target' }, 'app=other');
  assert.equal((await json(await send(node.url(), { host: 'router.test' }))).name, 'target');
});

test('transform.path with a query replaces both path and query', async (t) => {
  const { node } = await jsonRouter(t, { app: 'target', transform: { path: '/new/path?param=value' } });
  const got = await json(await send(node.url(), { host: 'router.test', path: '/old?keep=no' }));
  assert.equal(got.url, '/new/path?param=value');
});

test('transform.path without a query keeps the original query', async (t) => {
  const { node } = await jsonRouter(t, { app: 'target', transform: { path: '/new/path' } });
  const got = await json(await send(node.url(), { host: 'router.test', path: '/old?keep=yes' }));
  assert.equal(got.url, '/new/path?keep=yes');
});

test('transform deletes headers, then sets headers over any of the same name', async (t) => {
  const { node } = await jsonRouter(t, {
    app: 'target',
    transform: {
      delete_headers: ['x-unwanted-header', 'cookie', 'authorization'],
      set_headers: [
        { name: 'authorization', value: 'Bearer token123' },
        { name: 'x-existing', value: 'new' },
      ],
    },
  });
  const got = await json(
    await send(node.url(), {
      host: 'router.test',
      headers: { 'x-unwanted-header': '1', cookie: 'a=b', authorization: 'Basic old', 'x-existing': 'old', 'x-kept': 'kept' },
    }),
  );
  assert.equal(got.headers['x-unwanted-header'], undefined);
  assert.equal(got.headers['cookie'], undefined);
  assert.equal(got.headers['authorization'], 'Bearer token123');
  assert.equal(got.headers['x-existing'], 'new');
  assert.equal(got.headers['x-kept'], 'kept');
});

test('an invalid JSON replay body is answered 502 PA03', async (t) => {
  const { node } = await jsonRouter(t, { app: 'target', elsewhere: 'yes' });
  const res = await send(node.url(), { host: 'router.test' });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PA03');
});

test('a replay to a stopped machine starts it', async (t) => {
  const { node, target } = await routerAndTarget(t, 'app=target');
  const [machineOfTarget] = node.node.catalog.machines('target');
  await node.node.supervisor.stop(machineOfTarget.id);
  assert.equal(node.node.catalog.get(machineOfTarget.id)?.state, 'stopped');
  const res = await send(node.url(), { host: 'router.test' });
  assert.equal(res.status, 200);
  assert.equal((await json(res)).name, 'target');
  assert.equal(node.node.catalog.get(machineOfTarget.id)?.state, 'started');
  assert.equal(target.requests.length, 1);
});

test('replay headers a client sends are removed and never reach any app', async (t) => {
  let routerSaw: IncomingMessage['headers'] = {};
  const router = await startBackend(t, (req, res) => {
    routerSaw = req.headers;
    res.writeHead(409, { 'fly-replay': 'app=target' }).end();
  });
  const target = await startBackend(t, echo('target'));
  const node = await startNode(t, REGIONS + app('router', machine(router)) + app('target', machine(target)));
  const spoofed = {
    'fly-replay-src': 'instance=evil;region=xxx;t=1;state=secret',
    'fly-replay-failed': 'app=x;replay_source=y;reason=timeout;elapsed_ms=1',
    'fly-replay-cache-status': 'hit',
    'fly-preferred-instance-unavailable': 'evil',
    'fly-replay': 'app=other',
    'fly-region': 'xxx',
    'fly-client-ip': '6.6.6.6',
  };
  const got = await json(await send(node.url(), { host: 'router.test', headers: spoofed }));
  for (const name of ['fly-replay-src', 'fly-replay-failed', 'fly-replay-cache-status', 'fly-preferred-instance-unavailable', 'fly-replay']) {
    assert.equal(routerSaw[name], undefined, `router got ${name}`);
  }
  assert.equal(routerSaw['fly-region'], 'iad');
  assert.equal(routerSaw['fly-client-ip'], '127.0.0.1');
  assert.doesNotMatch(String(got.headers['fly-replay-src']), /evil|secret/);
  assert.equal(got.headers['fly-replay-cache-status'], 'miss');
  assert.equal(got.headers['fly-replay-failed'], undefined);
  assert.equal(got.headers['fly-preferred-instance-unavailable'], undefined);
  assert.equal(got.headers['fly-region'], 'iad');
});
