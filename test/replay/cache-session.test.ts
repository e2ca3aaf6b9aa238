import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplayCacheRule } from '../../src/catalog/types.ts';
import {
  ReplayCache,
  isCacheRejection,
  parseSessionRule,
  wantsBypass,
  type CacheRequest,
  type CachedRoute,
} from '../../src/replay/cache.ts';

const ROUTE: CachedRoute = { app: 'tenant', regions: null, instance: null, preferInstance: null, elsewhere: false };

function request(host: string, path: string, headers: Record<string, string> = {}): CacheRequest {
  return { host, path, header: (name) => headers[name] };
}

function rule(path_prefix: string, extra: Partial<ReplayCacheRule> = {}): ReplayCacheRule {
  return { path_prefix, ttl_seconds: 60, type: 'cookie', name: 'session_id', ...extra };
}

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return { now: () => time, advance: (ms) => (time += ms) };
}

test('a cookie rule caches per cookie value and serves only the same value', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('/app')];
  const alice = request('example.com', '/app/x', { cookie: 'theme=dark; session_id=alice' });
  const entry = cache.storeSession('router', alice, rules, ROUTE);
  assert.equal(entry?.kind, 'session');
  assert.equal(entry?.prefix, '/app');
  assert.equal(cache.lookup('router', request('example.com', '/app/y', { cookie: 'session_id="alice"' }), rules)?.key, entry?.key);
  assert.equal(cache.lookup('router', request('example.com', '/app/y', { cookie: 'session_id=bob' }), rules), null);
  assert.equal(cache.lookup('router', request('example.com', '/other', { cookie: 'session_id=alice' }), rules), null);
});

test('a header rule reads the header case-insensitively by name', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('/api', { type: 'header', name: 'Authorization' })];
  const entry = cache.storeSession('router', request('example.com', '/api', { authorization: 'Bearer t1' }), rules, ROUTE);
  assert.notEqual(entry, null);
  assert.equal(cache.lookup('router', request('example.com', '/api/x', { authorization: 'Bearer t1' }), rules)?.key, entry?.key);
  assert.equal(cache.lookup('router', request('example.com', '/api/x', { authorization: 'Bearer t2' }), rules), null);
});

test('a session key keeps the cookie or header value only as a digest', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('/api', { type: 'header', name: 'authorization' })];
  const entry = cache.storeSession('router', request('example.com', '/api', { authorization: 'Bearer secret-token' }), rules, ROUTE);
  assert.equal(entry?.key.includes('secret-token'), false);
});

test('a request without the cookie or header is neither cached nor served from the cache', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('/app')];
  assert.equal(cache.storeSession('router', request('example.com', '/app', { cookie: 'other=1' }), rules, ROUTE), null);
  assert.equal(cache.storeSession('router', request('example.com', '/app'), rules, ROUTE), null);
  assert.equal(cache.storeSession('router', request('example.com', '/app', { cookie: 'session_id=' }), rules, ROUTE), null);
  assert.equal(cache.stats().entries, 0);
  cache.storeSession('router', request('example.com', '/app', { cookie: 'session_id=alice' }), rules, ROUTE);
  assert.equal(cache.lookup('router', request('example.com', '/app'), rules), null);
  assert.equal(cache.lookup('router', request('example.com', '/app', { cookie: 'session_id=""' }), rules), null);
});

test('storeSession stores nothing when no rule matches the request', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const req = request('example.com', '/web', { cookie: 'session_id=alice' });
  assert.equal(cache.storeSession('router', req, [rule('/app')], ROUTE), null);
  assert.equal(cache.storeSession('router', req, [], ROUTE), null);
});

test('a host-less rule applies to every host but each host keeps its own entries', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('/app')];
  const cookie = { cookie: 'session_id=alice' };
  const onA = cache.storeSession('router', request('a.example.com', '/app', cookie), rules, { ...ROUTE, app: 'on-a' });
  assert.equal(onA?.host, 'a.example.com');
  assert.equal(cache.lookup('router', request('b.example.com', '/app', cookie), rules), null);
  cache.storeSession('router', request('b.example.com', '/app', cookie), rules, { ...ROUTE, app: 'on-b' });
  assert.equal(cache.lookup('router', request('a.example.com', '/app', cookie), rules)?.route.app, 'on-a');
  assert.equal(cache.lookup('router', request('b.example.com', '/app', cookie), rules)?.route.app, 'on-b');
});

test('a rule with a host applies only to that host', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('a.example.com/app')];
  const cookie = { cookie: 'session_id=alice' };
  assert.equal(cache.storeSession('router', request('b.example.com', '/app', cookie), rules, ROUTE), null);
  assert.notEqual(cache.storeSession('router', request('a.example.com', '/app', cookie), rules, ROUTE), null);
});

test('the longest matching rule prefix governs the request', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('/app', { ttl_seconds: 30 }), rule('/app/admin/', { type: 'header', name: 'x-user' })];
  const both = { cookie: 'session_id=alice', 'x-user': 'alice' };
  const entry = cache.storeSession('router', request('example.com', '/app/admin/x', both), rules, ROUTE);
  assert.equal(entry?.prefix, '/app/admin');
  assert.equal(entry?.expiresAt, 60_000 + (entry?.createdAt ?? 0));
  assert.equal(cache.lookup('router', request('example.com', '/app/admin', { 'x-user': 'alice' }), rules)?.key, entry?.key);
  // Under /app/admin only the header rule counts, so the cookie alone is no key.
  assert.equal(cache.storeSession('router', request('example.com', '/app/admin/x', { cookie: 'session_id=a' }), rules, ROUTE), null);
  assert.equal(cache.storeSession('router', request('example.com', '/app/other', both), rules, ROUTE)?.prefix, '/app');
});

test('on equal prefixes a rule naming the host beats a host-less rule', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('/app'), rule('example.com/app/*', { type: 'header', name: 'x-user', allow_bypass: true })];
  const entry = cache.storeSession('router', request('example.com', '/app', { 'x-user': 'u', cookie: 'session_id=s' }), rules, ROUTE);
  assert.equal(entry?.allowBypass, true);
  const other = cache.storeSession('router', request('other.com', '/app', { 'x-user': 'u', cookie: 'session_id=s' }), rules, ROUTE);
  assert.equal(other?.allowBypass, false);
});

test('invalid rules are ignored by the cache and named by parseSessionRule', () => {
  const cases: [ReplayCacheRule, string][] = [
    [rule('/app', { ttl_seconds: 5 }), 'ttl-below-minimum'],
    [rule('example.com:8080/app'), 'pattern-host-port'],
    [rule('https://example.com/app'), 'pattern-scheme'],
    [rule('/app', { name: 'bad name' }), 'rule-name-invalid'],
    [rule('/app', { type: 'query' as 'cookie' }), 'rule-type-invalid'],
  ];
  const cache = new ReplayCache({ maxEntries: 10 });
  for (const [bad, expected] of cases) {
    const parsed = parseSessionRule(bad);
    assert.equal(isCacheRejection(parsed) ? parsed.rule : null, expected);
    const req = request('example.com', '/app', { cookie: 'session_id=alice', 'bad name': 'x' });
    assert.equal(cache.storeSession('router', req, [bad], ROUTE), null);
  }
});

test('a session entry expires after the rule TTL by the injected clock', () => {
  const clock = fakeClock();
  const cache = new ReplayCache({ maxEntries: 10, now: clock.now });
  const rules = [rule('/app', { ttl_seconds: 10 })];
  const req = request('example.com', '/app', { cookie: 'session_id=alice' });
  cache.storeSession('router', req, rules, ROUTE);
  clock.advance(9_999);
  assert.notEqual(cache.lookup('router', req, rules), null);
  clock.advance(1);
  assert.equal(cache.lookup('router', req, rules), null);
  assert.equal(cache.stats().expirations, 1);
});

test('a longer path entry beats a shorter session rule', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('/app')];
  const req = request('example.com', '/app/v2/x', { cookie: 'session_id=alice' });
  cache.storeSession('router', req, rules, { ...ROUTE, app: 'session' });
  cache.storePath('router', req, '/app/v2', 60, false, { ...ROUTE, app: 'path' });
  assert.equal(cache.lookup('router', req, rules)?.route.app, 'path');
  assert.equal(cache.lookup('router', request('example.com', '/app/v1', { cookie: 'session_id=alice' }), rules)?.route.app, 'session');
});

test('a longer or equal session rule beats a path entry, even when it has no entry for the request', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('/app/v2')];
  const req = request('example.com', '/app/v2/x', { cookie: 'session_id=alice' });
  cache.storePath('router', req, '/app', 60, false, { ...ROUTE, app: 'path' });
  assert.equal(cache.lookup('router', req, rules), null);
  assert.equal(cache.lookup('router', request('example.com', '/app/v2/x'), rules), null);
  cache.storeSession('router', req, rules, { ...ROUTE, app: 'session' });
  assert.equal(cache.lookup('router', req, rules)?.route.app, 'session');
  cache.storePath('router', req, '/app/v2', 60, false, { ...ROUTE, app: 'path' });
  assert.equal(cache.lookup('router', req, rules)?.route.app, 'session');
  assert.equal(cache.lookup('router', request('example.com', '/app/v1'), rules)?.route.app, 'path');
});

test('session entries are listed, purged and invalidated like path entries', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const rules = [rule('/app')];
  const entry = cache.storeSession('router', request('example.com', '/app', { cookie: 'session_id=a' }), rules, ROUTE);
  cache.storeSession('router', request('example.com', '/app', { cookie: 'session_id=b' }), rules, ROUTE);
  assert.equal(cache.list({ app: 'router', prefix: '/app' }).length, 2);
  assert.equal(cache.invalidate(entry?.key ?? ''), true);
  assert.equal(cache.purge({ host: 'example.com' }), 1);
});

test('wantsBypass reads fly-replay-cache-control: skip, case-insensitively', () => {
  assert.equal(wantsBypass(request('a.com', '/', { 'fly-replay-cache-control': 'skip' })), true);
  assert.equal(wantsBypass(request('a.com', '/', { 'fly-replay-cache-control': ' SKIP ' })), true);
  assert.equal(wantsBypass(request('a.com', '/', { 'fly-replay-cache-control': 'no-store, skip' })), true);
  assert.equal(wantsBypass(request('a.com', '/', { 'fly-replay-cache-control': 'skipped' })), false);
  assert.equal(wantsBypass(request('a.com', '/')), false);
});

test('an entry allows bypass only when it was created with allow-bypass', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  cache.storePath('router', request('a.com', '/open'), '/open', 60, true, ROUTE);
  cache.storePath('router', request('a.com', '/closed'), '/closed', 60, false, ROUTE);
  cache.storeSession('router', request('a.com', '/s', { cookie: 'session_id=x' }), [rule('/s')], ROUTE);
  assert.equal(cache.lookup('router', request('a.com', '/open'), [])?.allowBypass, true);
  assert.equal(cache.lookup('router', request('a.com', '/closed'), [])?.allowBypass, false);
  assert.equal(cache.lookup('router', request('a.com', '/s', { cookie: 'session_id=x' }), [rule('/s')])?.allowBypass, false);
});
