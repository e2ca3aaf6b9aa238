/**
 * The replay cache on the wire (spec §5; docs/replay.md "Replay cache"): path-based entries set
 * by `fly-replay-cache`, session-based entries under `http_options.replay_cache`, TTLs read from
 * an injected clock, invalidation by the target, client bypass, and `fly-replay-cache-status`.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { send, startBackend, startNode, type Backend, type TestNode } from '../harness/index.ts';

interface Seen {
  name: string;
  url: string;
  status: string | null;
  src: string | null;
}

/** target answers with the cache status and replay source it was sent. */
function target(name: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const seen: Seen = {
      name,
      url: req.url ?? '',
      status: (req.headers['fly-replay-cache-status'] as string | undefined) ?? null,
      src: (req.headers['fly-replay-src'] as string | undefined) ?? null,
    };
    res.end(JSON.stringify(seen));
  };
}

/** origin replays with the headers `decide` returns for each request. */
function origin(decide: (req: IncomingMessage) => Record<string, string>) {
  return (req: IncomingMessage, res: ServerResponse) => res.writeHead(409, decide(req)).end();
}

interface Setup {
  node: TestNode;
  origin: Backend;
  targets: Backend[];
  clock: { now: number };
}

/**
 * setup runs app "origin" (hosts origin.test and alias.test) and apps "one" and "two", on a node
 * whose clock the test moves. `originExtra` goes into origin's [apps.http_service].
 */
async function setup(t: TestContext, decide: (req: IncomingMessage) => Record<string, string>, originExtra = '', settings = ''): Promise<Setup> {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const originBackend = await startBackend(t, origin(decide));
  const one = await startBackend(t, target('one'));
  const two = await startBackend(t, target('two'));
  const app = (name: string, backend: Backend, hostnames: string[], extra = '') =>
    `[[apps]]\nname = "${name}"\nhostnames = ${JSON.stringify(hostnames)}\n  [apps.http_service]\n  internal_port = 8080\n${extra}  [[apps.machines]]\n  address = "${backend.address}"\n`;
  const toml =
    settings +
    app('origin', originBackend, ['origin.test', 'alias.test'], originExtra) +
    app('one', one, ['one.test']) +
    app('two', two, ['two.test']);
  const node = await startNode(t, toml, { now: () => clock.now });
  return { node, origin: originBackend, targets: [one, two], clock };
}

async function get(node: TestNode, path: string, options: { host?: string; headers?: Record<string, string> } = {}): Promise<Seen> {
  const res = await send(node.url(), { host: options.host ?? 'origin.test', path, headers: options.headers });
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as Seen;
}

const CACHE_API = { 'fly-replay': 'app=one', 'fly-replay-cache': '/api/*', 'fly-replay-cache-ttl-secs': '60' };

test('a replay with fly-replay-cache is served from the cache next time, without reaching the origin', async (t) => {
  const { node, origin } = await setup(t, () => CACHE_API);
  const first = await get(node, '/api/a');
  assert.equal(first.name, 'one');
  assert.equal(first.status, 'miss');
  assert.match(String(first.src), /^instance=/);
  const second = await get(node, '/api/b?x=1');
  assert.equal(second.name, 'one');
  assert.equal(second.url, '/api/b?x=1');
  assert.equal(second.status, 'hit');
  assert.equal(origin.requests.length, 1);
});

test('fly-replay-src is not set on a request routed by the cache', async (t) => {
  const { node } = await setup(t, () => CACHE_API);
  await get(node, '/api/a');
  assert.equal((await get(node, '/api/a')).src, null);
});

test('fly-replay-cache-status is absent on a request that was not replayed', async (t) => {
  const { node } = await setup(t, () => CACHE_API);
  assert.equal((await get(node, '/', { host: 'one.test' })).status, null);
});

test('a pattern implicitly ends in /*: /api covers /api and /api/x/y but not /apix', async (t) => {
  const { node, origin } = await setup(t, (req) => (/^\/api(\/|$)/.test(req.url ?? '') ? { ...CACHE_API, 'fly-replay-cache': '/api' } : { 'fly-replay': 'app=two' }));
  await get(node, '/api/x');
  assert.equal((await get(node, '/api')).status, 'hit');
  assert.equal((await get(node, '/api/x/y')).status, 'hit');
  assert.equal((await get(node, '/apix')).name, 'two');
  assert.equal(origin.requests.length, 2);
});

test('a host-less pattern is scoped to the host of the request that set it', async (t) => {
  const { node, origin } = await setup(t, () => CACHE_API);
  await get(node, '/api/a', { host: 'origin.test' });
  assert.equal((await get(node, '/api/a', { host: 'alias.test' })).status, 'miss');
  assert.equal((await get(node, '/api/a', { host: 'origin.test' })).status, 'hit');
  assert.equal((await get(node, '/api/a', { host: 'alias.test' })).status, 'hit');
  assert.equal(origin.requests.length, 2);
});

test('a host-scoped pattern caches for that host', async (t) => {
  const { node, origin } = await setup(t, () => ({ ...CACHE_API, 'fly-replay-cache': 'origin.test/api/*' }));
  await get(node, '/api/a');
  assert.equal((await get(node, '/api/b')).status, 'hit');
  assert.equal(origin.requests.length, 1);
});

test('a pattern that does not match the current request is not cached, and the log names the rule', async (t) => {
  for (const pattern of ['/other/*', 'elsewhere.test/api/*']) {
    const { node, origin } = await setup(t, () => ({ ...CACHE_API, 'fly-replay-cache': pattern }));
    await get(node, '/api/a');
    assert.equal((await get(node, '/api/a')).status, 'miss');
    assert.equal(origin.requests.length, 2);
    await node.logs.waitFor((line) => line.msg === 'replay not cached' && line.rule === 'pattern-not-matching');
  }
});

test('a pattern with a port is refused as an invalid replay: 502 PA03', async (t) => {
  const { node } = await setup(t, () => ({ ...CACHE_API, 'fly-replay-cache': 'origin.test:8080/api/*' }));
  const res = await send(node.url(), { host: 'origin.test', path: '/api/a' });
  assert.equal(res.status, 502);
  assert.equal(res.headers['ricochet-error'], 'PA03');
});

test('a TTL under 10 seconds is not cached, and the log names the rule', async (t) => {
  const { node } = await setup(t, () => ({ ...CACHE_API, 'fly-replay-cache-ttl-secs': '9' }));
  await get(node, '/api/a');
  assert.equal((await get(node, '/api/a')).status, 'miss');
  await node.logs.waitFor((line) => line.msg === 'replay not cached' && line.rule === 'ttl_below_minimum');
});

test('fly-replay-cache without a TTL is not cached, and the log names the rule', async (t) => {
  const { node } = await setup(t, () => ({ 'fly-replay': 'app=one', 'fly-replay-cache': '/api/*' }));
  await get(node, '/api/a');
  assert.equal((await get(node, '/api/a')).status, 'miss');
  await node.logs.waitFor((line) => line.msg === 'replay not cached' && line.rule === 'ttl-missing');
});

test('a cached entry expires after its TTL on the node clock', async (t) => {
  const { node, origin, clock } = await setup(t, () => CACHE_API);
  await get(node, '/api/a');
  clock.now += 59_999;
  assert.equal((await get(node, '/api/a')).status, 'hit');
  clock.now += 1;
  assert.equal((await get(node, '/api/a')).status, 'miss');
  assert.equal(origin.requests.length, 2);
  assert.equal((await get(node, '/api/a')).status, 'hit', 'the miss stored a fresh entry');
  assert.equal(node.node.runtime.cache.stats().expirations, 1);
});

for (const [field, headers] of [
  ['state', { 'fly-replay': 'app=one;state=abc' }],
  ['timeout', { 'fly-replay': 'app=one;timeout=5s' }],
  ['fallback', { 'fly-replay': 'app=one;fallback=prefer_self' }],
] as const) {
  test(`a replay with ${field} is not cached, and the log names the rule`, async (t) => {
    const { node, origin } = await setup(t, () => ({ ...CACHE_API, ...headers }));
    await get(node, '/api/a');
    assert.equal((await get(node, '/api/a')).status, 'miss');
    assert.equal(origin.requests.length, 2);
    await node.logs.waitFor((line) => line.msg === 'replay not cached' && line.rule === field);
  });
}

/** jsonOrigin answers every request with a replay JSON body. */
async function jsonSetup(t: TestContext, body: (req: IncomingMessage) => unknown) {
  const clock = { now: 0 };
  const originBackend = await startBackend(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.fly.replay+json' }).end(JSON.stringify(body(req)));
  });
  const one = await startBackend(t, target('one'));
  const app = (name: string, backend: Backend) =>
    `[[apps]]\nname = "${name}"\nhostnames = ["${name}.test"]\n  [apps.http_service]\n  internal_port = 8080\n  [[apps.machines]]\n  address = "${backend.address}"\n`;
  const node = await startNode(t, app('origin', originBackend) + app('one', one), { now: () => clock.now });
  return { node, origin: originBackend, clock };
}

test('a JSON replay with a transform is not cached, and the log names the rule', async (t) => {
  const { node, origin } = await jsonSetup(t, () => ({ app: 'one', transform: { path: '/x' }, cache: { prefix: '/api/*', ttl: 60 } }));
  await get(node, '/api/a');
  await get(node, '/api/a');
  assert.equal(origin.requests.length, 2);
  await node.logs.waitFor((line) => line.msg === 'replay not cached' && line.rule === 'transform');
});

test('a JSON replay caches with cache.prefix and cache.ttl', async (t) => {
  const { node, origin } = await jsonSetup(t, () => ({ app: 'one', cache: { prefix: '/api/*', ttl: 60 } }));
  assert.equal((await get(node, '/api/a')).status, 'miss');
  assert.equal((await get(node, '/api/a')).status, 'hit');
  assert.equal(origin.requests.length, 1);
});

test('fly-replay-cache-control: skip bypasses an entry that allows bypass, and the target sees bypass', async (t) => {
  const { node, origin } = await setup(t, () => ({ ...CACHE_API, 'fly-replay-cache-allow-bypass': 'yes' }));
  await get(node, '/api/a');
  const skipped = await get(node, '/api/a', { headers: { 'fly-replay-cache-control': 'skip' } });
  assert.equal(skipped.status, 'bypass');
  assert.match(String(skipped.src), /^instance=/);
  assert.equal(origin.requests.length, 2);
  assert.equal((await get(node, '/api/a')).status, 'hit');
});

test('fly-replay-cache-control: skip is ignored for an entry that does not allow bypass', async (t) => {
  const { node, origin } = await setup(t, () => CACHE_API);
  await get(node, '/api/a');
  assert.equal((await get(node, '/api/a', { headers: { 'fly-replay-cache-control': 'skip' } })).status, 'hit');
  assert.equal(origin.requests.length, 1);
});

test('a JSON allow_bypass lets clients skip the entry', async (t) => {
  const { node, origin } = await jsonSetup(t, () => ({ app: 'one', cache: { prefix: '/api/*', ttl: 60 }, allow_bypass: true }));
  await get(node, '/api/a');
  assert.equal((await get(node, '/api/a', { headers: { 'fly-replay-cache-control': 'skip' } })).status, 'bypass');
  assert.equal(origin.requests.length, 2);
});

test('the target invalidates the entry by replaying back with fly-replay-cache: invalidate', async (t) => {
  let oneAnswers = true;
  const clock = { now: 0 };
  let originCount = 0;
  const originBackend = await startBackend(t, (req, res) => {
    originCount++;
    res.writeHead(409, { 'fly-replay': `app=${oneAnswers ? 'one' : 'two'}`, 'fly-replay-cache': '/api/*', 'fly-replay-cache-ttl-secs': '60' }).end();
  });
  const one = await startBackend(t, (req, res) => {
    if (oneAnswers) return target('one')(req, res);
    res.writeHead(409, { 'fly-replay': 'app=origin', 'fly-replay-cache': 'invalidate' }).end();
  });
  const two = await startBackend(t, target('two'));
  const app = (name: string, backend: Backend) =>
    `[[apps]]\nname = "${name}"\nhostnames = ["${name}.test"]\n  [apps.http_service]\n  internal_port = 8080\n  [[apps.machines]]\n  address = "${backend.address}"\n`;
  const node = await startNode(t, app('origin', originBackend) + app('one', one) + app('two', two), { now: () => clock.now });
  await get(node, '/api/a');
  assert.equal((await get(node, '/api/a')).name, 'one');
  oneAnswers = false;
  // The cached target turns the request back; the origin now routes to two, and that is cached.
  const moved = await get(node, '/api/a');
  assert.equal(moved.name, 'two');
  await node.logs.waitFor((line) => line.msg === 'replay cache entry invalidated');
  const after = await get(node, '/api/a');
  assert.equal(after.name, 'two');
  assert.equal(after.status, 'hit');
  assert.equal(originCount, 2);
});

test('the target invalidates the entry with a JSON cache.invalidate', async (t) => {
  let invalidate = false;
  const { node, origin } = await setup(t, () => CACHE_API);
  // Re-point app one at a server that invalidates on demand.
  const one = await startBackend(t, (req, res) => {
    if (!invalidate || req.headers['fly-replay-cache-status'] !== 'hit') return target('one')(req, res);
    invalidate = false;
    res.writeHead(200, { 'content-type': 'application/vnd.fly.replay+json' }).end(JSON.stringify({ app: 'two', cache: { invalidate: true } }));
  });
  const [machineOfOne] = node.node.catalog.machines('one');
  node.node.catalog.update(machineOfOne.id, { runtime: { host: '127.0.0.1', ports: { '8080': one.port } } });
  await get(node, '/api/a');
  invalidate = true;
  assert.equal((await get(node, '/api/a')).name, 'two');
  assert.equal(node.node.runtime.cache.stats().entries, 0);
  assert.equal((await get(node, '/api/a')).status, 'miss');
  assert.equal(origin.requests.length, 2);
});

test("a target's own fly-replay-cache is not cached: one level of cache", async (t) => {
  const { node } = await setup(t, () => ({ 'fly-replay': 'app=one' }));
  const chained = await startBackend(t, (req, res) => {
    if (req.headers['fly-replay-cache-status'] === 'miss') {
      res.writeHead(409, { 'fly-replay': 'app=two', 'fly-replay-cache': '/api/*', 'fly-replay-cache-ttl-secs': '60' }).end();
    } else target('one')(req, res);
  });
  const [machineOfOne] = node.node.catalog.machines('one');
  node.node.catalog.update(machineOfOne.id, { runtime: { host: '127.0.0.1', ports: { '8080': chained.port } } });
  assert.equal((await get(node, '/api/a')).name, 'two');
  assert.equal(node.node.runtime.cache.stats().entries, 0);
});

test('the cache is bounded: the least recently used entry is evicted, and stats count hits, misses and evictions', async (t) => {
  const { node, origin } = await setup(
    t,
    (req) => ({ 'fly-replay': 'app=one', 'fly-replay-cache': (req.url ?? '/').split('/').slice(0, 2).join('/'), 'fly-replay-cache-ttl-secs': '60' }),
    '',
    '[replay]\ncache_max_entries = 2\n',
  );
  await get(node, '/a/1');
  await get(node, '/b/1');
  assert.equal((await get(node, '/a/2')).status, 'hit', '/a is now the most recently used');
  await get(node, '/c/1');
  assert.equal((await get(node, '/a/3')).status, 'hit');
  assert.equal((await get(node, '/b/2')).status, 'miss', '/b was evicted');
  const stats = node.node.runtime.cache.stats();
  assert.equal(stats.entries, 2);
  assert.equal(stats.hits, 2);
  assert.equal(stats.evictions, 2);
  assert.equal(stats.misses, 3, 'lookups made while the cache held entries');
  assert.equal(origin.requests.length, 4);
});

const SESSION_RULES = `  [[apps.http_service.http_options.replay_cache]]
  path_prefix = "/api"
  ttl_seconds = 60
  type = "cookie"
  name = "session_id"
  [[apps.http_service.http_options.replay_cache]]
  path_prefix = "/api/admin"
  ttl_seconds = 60
  type = "header"
  name = "X-Tenant"
  allow_bypass = true
`;

/** sessionRouter routes by the session cookie or tenant header: `one` or `two`. */
function sessionRouter(req: IncomingMessage): Record<string, string> {
  const cookie = /session_id=(\w+)/.exec(String(req.headers.cookie ?? ''))?.[1];
  const tenant = req.headers['x-tenant'];
  const pick = req.url?.startsWith('/api/admin') ? tenant : cookie;
  return { 'fly-replay': `app=${pick === 'b' ? 'two' : 'one'}` };
}

test('session rules cache a replay per cookie value', async (t) => {
  const { node, origin } = await setup(t, sessionRouter, SESSION_RULES);
  const a = { cookie: 'session_id=a; other=1' };
  const b = { cookie: 'session_id=b' };
  assert.deepEqual([(await get(node, '/api/x', { headers: a })).status, (await get(node, '/api/y', { headers: a })).status], ['miss', 'hit']);
  const first = await get(node, '/api/x', { headers: b });
  assert.deepEqual([first.name, first.status], ['two', 'miss']);
  const again = await get(node, '/api/z', { headers: b });
  assert.deepEqual([again.name, again.status, again.src], ['two', 'hit', null]);
  assert.equal(origin.requests.length, 2);
});

test('a request without the session cookie is never cached', async (t) => {
  const { node, origin } = await setup(t, sessionRouter, SESSION_RULES);
  await get(node, '/api/x');
  assert.equal((await get(node, '/api/x')).status, 'miss');
  assert.equal(origin.requests.length, 2);
});

test('the longest matching session rule wins', async (t) => {
  const { node, origin } = await setup(t, sessionRouter, SESSION_RULES);
  // Under /api/admin the tenant header, not the cookie, keys the entry.
  const headers = { cookie: 'session_id=a', 'x-tenant': 'b' };
  assert.equal((await get(node, '/api/admin/x', { headers })).name, 'two');
  const sameCookieOtherTenant = await get(node, '/api/admin/x', { headers: { cookie: 'session_id=a', 'x-tenant': 'c' } });
  assert.deepEqual([sameCookieOtherTenant.name, sameCookieOtherTenant.status], ['one', 'miss']);
  assert.equal((await get(node, '/api/admin/y', { headers })).status, 'hit');
  assert.equal(origin.requests.length, 2);
});

test('each host keeps its own session cache', async (t) => {
  const { node, origin } = await setup(t, sessionRouter, SESSION_RULES);
  const headers = { cookie: 'session_id=a' };
  await get(node, '/api/x', { headers, host: 'origin.test' });
  assert.equal((await get(node, '/api/x', { headers, host: 'alias.test' })).status, 'miss');
  assert.equal((await get(node, '/api/x', { headers, host: 'origin.test' })).status, 'hit');
  assert.equal(origin.requests.length, 2);
});

test('a session rule with allow_bypass honours fly-replay-cache-control: skip', async (t) => {
  const { node, origin } = await setup(t, sessionRouter, SESSION_RULES);
  await get(node, '/api/x', { headers: { cookie: 'session_id=a' } });
  assert.equal((await get(node, '/api/x', { headers: { cookie: 'session_id=a', 'fly-replay-cache-control': 'skip' } })).status, 'hit', '/api does not allow bypass');
  await get(node, '/api/admin/x', { headers: { 'x-tenant': 'a' } });
  assert.equal((await get(node, '/api/admin/x', { headers: { 'x-tenant': 'a', 'fly-replay-cache-control': 'skip' } })).status, 'bypass');
  assert.equal(origin.requests.length, 3);
});

test('a session-cached entry expires after ttl_seconds on the node clock', async (t) => {
  const { node, clock } = await setup(t, sessionRouter, SESSION_RULES);
  const headers = { cookie: 'session_id=a' };
  await get(node, '/api/x', { headers });
  clock.now += 59_000;
  assert.equal((await get(node, '/api/x', { headers })).status, 'hit');
  clock.now += 1_000;
  assert.equal((await get(node, '/api/x', { headers })).status, 'miss');
});

test('a replay with state under a session rule is not cached, and the log names the rule', async (t) => {
  const { node, origin } = await setup(t, () => ({ 'fly-replay': 'app=one;state=s' }), SESSION_RULES);
  const headers = { cookie: 'session_id=a' };
  await get(node, '/api/x', { headers });
  await get(node, '/api/x', { headers });
  assert.equal(origin.requests.length, 2);
  await node.logs.waitFor((line) => line.msg === 'replay not cached' && line.rule === 'state');
});

test('the target invalidates a session entry by replaying back with fly-replay-cache: invalidate', async (t) => {
  let bounce = false;
  const { node, origin } = await setup(t, sessionRouter, SESSION_RULES);
  const one = await startBackend(t, (req, res) => {
    if (bounce && req.headers['fly-replay-cache-status'] === 'hit') {
      bounce = false;
      res.writeHead(409, { 'fly-replay': 'app=origin', 'fly-replay-cache': 'invalidate' }).end();
    } else target('one')(req, res);
  });
  const [machineOfOne] = node.node.catalog.machines('one');
  node.node.catalog.update(machineOfOne.id, { runtime: { host: '127.0.0.1', ports: { '8080': one.port } } });
  const headers = { cookie: 'session_id=a' };
  await get(node, '/api/x', { headers });
  bounce = true;
  await get(node, '/api/x', { headers });
  assert.equal(origin.requests.length, 2, 'the bounce went back to the origin');
  await node.logs.waitFor((line) => line.msg === 'replay cache entry invalidated');
});

test('a cached replay whose target can no longer be reached is forgotten, and the origin is asked again', async (t) => {
  let where = 'app=one';
  const { node, origin } = await setup(t, () => ({ ...CACHE_API, 'fly-replay': where }));
  await get(node, '/api/a');
  const [machineOfOne] = node.node.catalog.machines('one');
  const probe = await startBackend(t, () => {});
  await new Promise<void>((resolve) => probe.server.close(() => resolve()));
  node.node.catalog.update(machineOfOne.id, { runtime: { host: '127.0.0.1', ports: { '8080': probe.port } } });
  where = 'app=two';
  const moved = await get(node, '/api/a');
  assert.deepEqual([moved.name, moved.status], ['two', 'miss']);
  assert.equal(origin.requests.length, 2);
  assert.equal((await get(node, '/api/a')).status, 'hit');
  await node.logs.waitFor((line) => line.msg === 'cached replay target unreachable, asking the origin app');
});
