import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { send, startBackend, startNode } from '../harness/index.ts';

const ECHO_APP = fileURLToPath(new URL('../fixtures/apps/echo-env.ts', import.meta.url));

function staticApp(name: string, address: string, extra = ''): string {
  return `
[[apps]]
name = "${name}"
${extra}
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${address}"
`;
}

test('routes a request to the app whose exact hostname matches the Host header', async (t) => {
  const a = await startBackend(t, (_req, res) => res.end('a'));
  const b = await startBackend(t, (_req, res) => res.end('b'));
  const { url } = await startNode(
    t,
    staticApp('alpha', a.address, 'hostnames = ["alpha.example.test"]') + staticApp('beta', b.address, 'hostnames = ["beta.example.test"]'),
  );
  assert.equal((await send(url(), { host: 'alpha.example.test' })).body, 'a');
  assert.equal((await send(url(), { host: 'BETA.example.test:80' })).body, 'b');
});

test('routes by a wildcard hostname, the most specific wildcard first', async (t) => {
  const wide = await startBackend(t, (_req, res) => res.end('wide'));
  const narrow = await startBackend(t, (_req, res) => res.end('narrow'));
  const { url } = await startNode(
    t,
    staticApp('wide', wide.address, 'hostnames = ["*.example.test"]') +
      staticApp('narrow', narrow.address, 'hostnames = ["*.team.example.test"]'),
  );
  assert.equal((await send(url(), { host: 'x.example.test' })).body, 'wide');
  assert.equal((await send(url(), { host: 'x.team.example.test' })).body, 'narrow');
  assert.equal((await send(url(), { host: 'a.b.example.test' })).body, 'wide');
});

test('routes <app>.<base_domain> to the app of that name', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('named'));
  const { url } = await startNode(t, `base_domain = "apps.test"\n` + staticApp('shop', backend.address));
  assert.equal((await send(url(), { host: 'shop.apps.test' })).body, 'named');
});

test('answers 404 RC01 for a host no app claims, naming the request id', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('x'));
  const { url } = await startNode(t, staticApp('shop', backend.address));
  const res = await send(url(), { host: 'nobody.example.test' });
  assert.equal(res.status, 404);
  assert.equal(res.headers['ricochet-error'], 'RC01');
  assert.match(res.body, /RC01/);
  assert.ok(res.body.includes(String(res.headers['fly-request-id'])));
  assert.equal(backend.requests.length, 0);
});

test('routes by public port to the service of the app that declares it', async (t) => {
  // One app, two services, one machine that answers with the local port it was reached on.
  const toml = `
[[apps]]
name = "multi"
hostnames = ["multi.test"]
  [[apps.services]]
  internal_port = 8080
  protocol = "tcp"
    [[apps.services.ports]]
    port = 80
    handlers = ["http"]
  [[apps.services]]
  internal_port = 9090
  protocol = "tcp"
    [[apps.services.ports]]
    port = 9090
    handlers = ["http"]
  [[apps.machines]]
  cmd = [${JSON.stringify(process.execPath)}, ${JSON.stringify(ECHO_APP)}]

[[apps]]
name = "web-only"
hostnames = ["web-only.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  cmd = [${JSON.stringify(process.execPath)}, ${JSON.stringify(ECHO_APP)}]
`;
  const { url, node } = await startNode(t, toml, { publicPorts: [80, 443, 9090] });
  const ports = node.catalog.machines('multi')[0].runtime!.ports;
  const onPort = async (publicPort: number) => (JSON.parse((await send(url(publicPort), { host: 'multi.test' })).body) as { port: number }).port;
  assert.equal(await onPort(80), ports['8080']);
  assert.equal(await onPort(9090), ports['9090']);
  const wrongPort = await send(url(9090), { host: 'web-only.test' });
  assert.equal(wrongPort.status, 404);
  assert.equal(wrongPort.headers['ricochet-error'], 'RC02');
});

test('force_https answers 301 to the https URL', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('x'));
  const { url } = await startNode(
    t,
    `
[[apps]]
name = "secure"
hostnames = ["secure.test"]
  [apps.http_service]
  internal_port = 8080
  force_https = true
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  const res = await send(url(), { host: 'secure.test', path: '/a?b=c' });
  assert.equal(res.status, 301);
  assert.equal(res.headers.location, 'https://secure.test/a?b=c');
  assert.equal(backend.requests.length, 0);
});

test('spreads requests over every started machine', async (t) => {
  const one = await startBackend(t, (_req, res) => res.end('one'));
  const two = await startBackend(t, (_req, res) => res.end('two'));
  const toml = `
[[apps]]
name = "pair"
hostnames = ["pair.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${one.address}"
  [[apps.machines]]
  address = "${two.address}"
`;
  const { url } = await startNode(t, toml);
  const seen = new Set<string>();
  // Random among equals (spec §8.2.1): 40 requests all on one machine has odds of 2^-39.
  for (let n = 0; n < 40; n++) seen.add((await send(url(), { host: 'pair.test' })).body);
  assert.deepEqual([...seen].sort(), ['one', 'two']);
});

test('a private app (public = false) is reached only by replay, never by its Host', async (t) => {
  const inner = await startBackend(t, (req, res) => res.end(`inner via ${req.headers['fly-replay-src'] === undefined ? 'host' : 'replay'}`));
  const router = await startBackend(t, (_req, res) => res.writeHead(409, { 'fly-replay': 'app=inner' }).end());
  const { url } = await startNode(
    t,
    staticApp('router', router.address, 'hostnames = ["router.test"]') +
      staticApp('inner', inner.address, 'hostnames = ["inner.test"]\npublic = false'),
  );
  assert.equal((await send(url(), { host: 'router.test' })).body, 'inner via replay');
  for (const host of ['inner.test', 'inner.localhost']) {
    const direct = await send(url(), { host });
    assert.equal(direct.status, 404, host);
    assert.equal(direct.headers['ricochet-error'], 'RC01');
  }
  assert.equal(inner.requests.length, 1);
});

test('a public port mapped to "host:port" listens on that address only', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('admin'));
  const toml = `[listen]
host = "127.0.0.1"
api = "127.0.0.1:0"
ports = { 80 = 0, 443 = 0, 9090 = "127.0.0.2:0" }
[[apps]]
name = "admin"
hostnames = ["admin.test"]
  [[apps.services]]
  internal_port = 9090
  protocol = "tcp"
    [[apps.services.ports]]
    port = 9090
    handlers = ["http"]
  [[apps.machines]]
  address = "${backend.address}"
`;
  const { url, node } = await startNode(t, toml);
  assert.match(url(9090), /^http:\/\/127\.0\.0\.2:\d+$/);
  assert.equal((await send(url(9090), { host: 'admin.test' })).body, 'admin');
  const port = node.listeners.localPort(9090)!;
  await assert.rejects(send(`http://127.0.0.1:${port}`, { host: 'admin.test' }), /ECONNREFUSED/);
});
