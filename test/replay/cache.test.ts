import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ReplayCache,
  isCacheRejection,
  type CacheEntry,
  type CacheRejection,
  type CacheRequest,
  type CachedRoute,
} from '../../src/replay/cache.ts';

const ROUTE: CachedRoute = { app: 'tenant', regions: null, instance: null, preferInstance: null, elsewhere: false };

function request(host: string, path: string, headers: Record<string, string> = {}): CacheRequest {
  return { host, path, header: (name) => headers[name] };
}

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000_000;
  return { now: () => time, advance: (ms) => (time += ms) };
}

function stored(result: CacheEntry | CacheRejection): CacheEntry {
  if (isCacheRejection(result)) assert.fail(`expected an entry, got rejection ${result.rule}`);
  return result;
}

function rejected(result: CacheEntry | CacheRejection): string {
  if (!isCacheRejection(result)) assert.fail(`expected a rejection, got entry ${result.key}`);
  return result.rule;
}

test('storePath stores an entry that routes matching requests of the same host', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const entry = stored(cache.storePath('router', request('example.com', '/api/users'), '/api/*', 60, false, ROUTE));
  assert.equal(entry.kind, 'path');
  assert.equal(entry.host, 'example.com');
  assert.equal(entry.prefix, '/api');
  assert.equal(cache.lookup('router', request('example.com', '/api'), [])?.key, entry.key);
  assert.equal(cache.lookup('router', request('example.com', '/api/other/x'), [])?.key, entry.key);
  assert.equal(cache.lookup('router', request('example.com', '/apix'), []), null);
  assert.deepEqual(cache.lookup('router', request('example.com', '/api/1'), [])?.route, ROUTE);
});

test('storePath accepts /api, /api/ and /api/* as one entry', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const keys = ['/api', '/api/', '/api/*'].map(
    (pattern) => stored(cache.storePath('router', request('example.com', '/api/x'), pattern, 60, false, ROUTE)).key,
  );
  assert.equal(new Set(keys).size, 1);
  assert.equal(cache.stats().entries, 1);
});

test('a host-less pattern is scoped to the host of the request that set it', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  stored(cache.storePath('router', request('a.example.com', '/api/x'), '/api', 60, false, ROUTE));
  assert.notEqual(cache.lookup('router', request('a.example.com', '/api/y'), []), null);
  assert.equal(cache.lookup('router', request('b.example.com', '/api/y'), []), null);
});

test('a pattern naming the request host is stored for that host', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const entry = stored(cache.storePath('router', request('example.com', '/api/x'), 'EXAMPLE.com/api/*', 60, false, ROUTE));
  assert.equal(entry.host, 'example.com');
  assert.notEqual(cache.lookup('router', request('example.com', '/api/y'), []), null);
});

test('storePath rejects a pattern naming another host than the request', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const result = cache.storePath('router', request('example.com', '/api/x'), 'other.com/api/*', 60, false, ROUTE);
  assert.equal(rejected(result), 'pattern-not-matching');
  assert.equal(cache.lookup('router', request('other.com', '/api/x'), []), null);
  assert.equal(cache.stats().entries, 0);
});

test('storePath rejects a pattern that does not match the current request path', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  assert.equal(rejected(cache.storePath('router', request('example.com', '/apix'), '/api/*', 60, false, ROUTE)), 'pattern-not-matching');
  assert.equal(rejected(cache.storePath('router', request('example.com', '/other'), '/api', 60, false, ROUTE)), 'pattern-not-matching');
  assert.equal(cache.stats().entries, 0);
});

test('storePath rejects a host with a port, a scheme and an invalid pattern', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const req = request('example.com', '/api/x');
  assert.equal(rejected(cache.storePath('router', req, 'example.com:443/api/*', 60, false, ROUTE)), 'pattern-host-port');
  assert.equal(rejected(cache.storePath('router', req, 'https://example.com/api/*', 60, false, ROUTE)), 'pattern-scheme');
  assert.equal(rejected(cache.storePath('router', req, '/api*', 60, false, ROUTE)), 'pattern-wildcard');
  assert.equal(rejected(cache.storePath('router', req, '', 60, false, ROUTE)), 'pattern-empty');
  assert.equal(cache.stats().entries, 0);
});

test('storePath rejects a TTL below 10 seconds or not a whole number', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const req = request('example.com', '/api/x');
  assert.equal(rejected(cache.storePath('router', req, '/api', 9, false, ROUTE)), 'ttl-below-minimum');
  assert.equal(rejected(cache.storePath('router', req, '/api', 0, false, ROUTE)), 'ttl-below-minimum');
  assert.equal(rejected(cache.storePath('router', req, '/api', 12.5, false, ROUTE)), 'ttl-invalid');
  assert.equal(rejected(cache.storePath('router', req, '/api', Number.NaN, false, ROUTE)), 'ttl-invalid');
  stored(cache.storePath('router', req, '/api', 10, false, ROUTE));
});

test('storePath refuses a request path with dot segments, and lookup never serves one', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const result = cache.storePath('router', request('example.com', '/public/../admin'), '/public', 60, false, ROUTE);
  assert.equal(rejected(result), 'request-path-uncacheable');
  stored(cache.storePath('router', request('example.com', '/public/x'), '/public', 60, false, ROUTE));
  assert.equal(cache.lookup('router', request('example.com', '/public/../admin'), []), null);
  assert.equal(cache.lookup('router', request('example.com', '/public/%2e%2e/admin'), []), null);
});

test('an entry expires after its TTL by the injected clock', () => {
  const clock = fakeClock();
  const cache = new ReplayCache({ maxEntries: 10, now: clock.now });
  const entry = stored(cache.storePath('router', request('example.com', '/api/x'), '/api', 10, false, ROUTE));
  assert.equal(entry.expiresAt - entry.createdAt, 10_000);
  clock.advance(9_999);
  assert.notEqual(cache.lookup('router', request('example.com', '/api/x'), []), null);
  clock.advance(1);
  assert.equal(cache.lookup('router', request('example.com', '/api/x'), []), null);
  assert.deepEqual(cache.stats(), { entries: 0, hits: 1, misses: 1, evictions: 0, expirations: 1 });
});

test('storing the same pattern again replaces the entry with a fresh TTL', () => {
  const clock = fakeClock();
  const cache = new ReplayCache({ maxEntries: 10, now: clock.now });
  const req = request('example.com', '/api/x');
  stored(cache.storePath('router', req, '/api', 10, false, ROUTE));
  cache.lookup('router', req, []);
  clock.advance(5_000);
  const other = { ...ROUTE, app: 'other' };
  stored(cache.storePath('router', req, '/api/*', 10, true, other));
  clock.advance(9_000);
  const entry = cache.lookup('router', req, []);
  assert.equal(entry?.route.app, 'other');
  assert.equal(entry?.allowBypass, true);
  assert.equal(entry?.hits, 1);
  assert.equal(cache.stats().entries, 1);
});

test('the longest path entry covering a request wins, and a shorter one serves once it expires', () => {
  const clock = fakeClock();
  const cache = new ReplayCache({ maxEntries: 10, now: clock.now });
  stored(cache.storePath('router', request('example.com', '/a/b/c'), '/a', 60, false, { ...ROUTE, app: 'short' }));
  stored(cache.storePath('router', request('example.com', '/a/b/c'), '/a/b', 20, false, { ...ROUTE, app: 'long' }));
  assert.equal(cache.lookup('router', request('example.com', '/a/b/c'), [])?.route.app, 'long');
  assert.equal(cache.lookup('router', request('example.com', '/a/b'), [])?.route.app, 'long');
  assert.equal(cache.lookup('router', request('example.com', '/a/bc'), [])?.route.app, 'short');
  assert.equal(cache.lookup('router', request('example.com', '/a/b//c/'), [])?.route.app, 'long');
  clock.advance(20_000);
  assert.equal(cache.lookup('router', request('example.com', '/a/b/c'), [])?.route.app, 'short');
});

test('a root entry covers every path of its host', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  stored(cache.storePath('router', request('example.com', '/'), '/*', 60, false, ROUTE));
  assert.notEqual(cache.lookup('router', request('example.com', '/'), []), null);
  assert.notEqual(cache.lookup('router', request('example.com', '/deep/path/'), []), null);
});

test('entries of one source app never route requests of another', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  stored(cache.storePath('router', request('example.com', '/api/x'), '/api', 60, false, ROUTE));
  assert.equal(cache.lookup('other-app', request('example.com', '/api/x'), []), null);
});

test('keys are not forgeable across apps and hosts by separator characters', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const first = stored(cache.storePath('a|b', request('c', '/x'), '/x', 60, false, ROUTE));
  const second = stored(cache.storePath('a', request('b|c', '/x'), '/x', 60, false, ROUTE));
  const third = stored(cache.storePath('a%7Cb', request('c', '/x'), '/x', 60, false, ROUTE));
  assert.equal(new Set([first.key, second.key, third.key]).size, 3);
  assert.equal(cache.lookup('a', request('b|c', '/x'), [])?.key, second.key);
  assert.equal(cache.lookup('a|b', request('c', '/x'), [])?.key, first.key);
});

test('the cache evicts the least recently used entry at maxEntries, and a hit refreshes an entry', () => {
  const cache = new ReplayCache({ maxEntries: 3 });
  for (const name of ['a', 'b', 'c']) {
    stored(cache.storePath('router', request('example.com', `/${name}`), `/${name}`, 60, false, ROUTE));
  }
  assert.notEqual(cache.lookup('router', request('example.com', '/a'), []), null);
  stored(cache.storePath('router', request('example.com', '/d'), '/d', 60, false, ROUTE));
  assert.deepEqual(cache.list().map((entry) => entry.prefix), ['/c', '/a', '/d']);
  assert.equal(cache.lookup('router', request('example.com', '/b'), []), null);
  stored(cache.storePath('router', request('example.com', '/e'), '/e', 60, false, ROUTE));
  assert.deepEqual(cache.list().map((entry) => entry.prefix), ['/a', '/d', '/e']);
  assert.equal(cache.stats().evictions, 2);
});

test('a hit on the newest entry keeps the order, and a hit on an entry a newer one passed moves it', () => {
  const cache = new ReplayCache({ maxEntries: 3 });
  const hit = (name: string) => assert.notEqual(cache.lookup('router', request('example.com', `/${name}`), []), null);
  stored(cache.storePath('router', request('example.com', '/a'), '/a', 60, false, ROUTE));
  stored(cache.storePath('router', request('example.com', '/b'), '/b', 60, false, ROUTE));
  hit('b');
  hit('b');
  stored(cache.storePath('router', request('example.com', '/c'), '/c', 60, false, ROUTE));
  hit('b');
  assert.deepEqual(cache.list().map((entry) => entry.prefix), ['/a', '/c', '/b']);
  cache.invalidate(cache.list()[2].key);
  hit('a');
  assert.deepEqual(cache.list().map((entry) => entry.prefix), ['/c', '/a']);
  stored(cache.storePath('router', request('example.com', '/d'), '/d', 60, false, ROUTE));
  stored(cache.storePath('router', request('example.com', '/e'), '/e', 60, false, ROUTE));
  assert.deepEqual(cache.list().map((entry) => entry.prefix), ['/a', '/d', '/e']);
});

test('an expired entry pushed out by a new one counts as an expiration, not an eviction', () => {
  const clock = fakeClock();
  const cache = new ReplayCache({ maxEntries: 1, now: clock.now });
  stored(cache.storePath('router', request('example.com', '/a'), '/a', 10, false, ROUTE));
  clock.advance(10_000);
  stored(cache.storePath('router', request('example.com', '/b'), '/b', 10, false, ROUTE));
  assert.deepEqual(cache.stats(), { entries: 1, hits: 0, misses: 0, evictions: 0, expirations: 1 });
});

test('stats count hits, misses and live entries, and entries count their own hits', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  stored(cache.storePath('router', request('example.com', '/api'), '/api', 60, false, ROUTE));
  cache.lookup('router', request('example.com', '/api'), []);
  cache.lookup('router', request('example.com', '/api/2'), []);
  cache.lookup('router', request('example.com', '/nothing'), []);
  assert.deepEqual(cache.stats(), { entries: 1, hits: 2, misses: 1, evictions: 0, expirations: 0 });
  assert.equal(cache.list()[0].hits, 2);
});

test('invalidate removes an entry by key and says whether there was one', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const entry = stored(cache.storePath('router', request('example.com', '/api'), '/api', 60, false, ROUTE));
  assert.equal(cache.invalidate(entry.key), true);
  assert.equal(cache.invalidate(entry.key), false);
  assert.equal(cache.lookup('router', request('example.com', '/api'), []), null);
  assert.equal(cache.stats().evictions, 0);
});

test('list and purge select entries by app, host and prefix at or under it', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  stored(cache.storePath('router', request('a.com', '/api/v1'), '/api', 60, false, ROUTE));
  stored(cache.storePath('router', request('a.com', '/api/v1'), '/api/v1', 60, false, ROUTE));
  stored(cache.storePath('router', request('b.com', '/api'), '/api', 60, false, ROUTE));
  stored(cache.storePath('router', request('a.com', '/apix'), '/apix', 60, false, ROUTE));
  stored(cache.storePath('other', request('a.com', '/api'), '/api', 60, false, ROUTE));
  const describe = (entries: CacheEntry[]) => entries.map((e) => `${e.sourceApp} ${e.host}${e.prefix}`);
  assert.deepEqual(describe(cache.list({ app: 'other' })), ['other a.com/api']);
  assert.deepEqual(describe(cache.list({ host: 'B.com' })), ['router b.com/api']);
  assert.deepEqual(describe(cache.list({ app: 'router', host: 'a.com', prefix: '/api/*' })), [
    'router a.com/api',
    'router a.com/api/v1',
  ]);
  assert.equal(cache.list({ prefix: '/' }).length, 5);
  assert.equal(cache.purge({ app: 'router', prefix: '/api/v1' }), 1);
  assert.equal(cache.purge({ host: 'a.com' }), 3);
  assert.deepEqual(describe(cache.list()), ['router b.com/api']);
  assert.equal(cache.purge(), 1);
  assert.equal(cache.stats().entries, 0);
});

test('list and purge refuse a prefix filter that is not a path', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  assert.throws(() => cache.list({ prefix: 'api' }), TypeError);
  assert.throws(() => cache.purge({ prefix: '/a*b' }), TypeError);
});

test('list leaves out and drops expired entries', () => {
  const clock = fakeClock();
  const cache = new ReplayCache({ maxEntries: 10, now: clock.now });
  stored(cache.storePath('router', request('a.com', '/a'), '/a', 10, false, ROUTE));
  stored(cache.storePath('router', request('a.com', '/b'), '/b', 20, false, ROUTE));
  clock.advance(15_000);
  assert.deepEqual(cache.list().map((entry) => entry.prefix), ['/b']);
  assert.equal(cache.stats().expirations, 1);
});

test('the cache keeps its own frozen copy of the route and hands out frozen entries', () => {
  const cache = new ReplayCache({ maxEntries: 10 });
  const route: CachedRoute = { app: null, regions: ['iad', 'ams'], instance: null, preferInstance: null, elsewhere: true };
  stored(cache.storePath('router', request('a.com', '/a'), '/a', 60, false, route));
  route.regions?.push('sjc');
  const entry = cache.lookup('router', request('a.com', '/a'), []);
  assert.deepEqual(entry?.route.regions, ['iad', 'ams']);
  assert.equal(Object.isFrozen(entry), true);
  assert.equal(Object.isFrozen(entry?.route.regions), true);
});

test('the constructor refuses a maxEntries that is not a positive integer', () => {
  assert.throws(() => new ReplayCache({ maxEntries: 0 }), RangeError);
  assert.throws(() => new ReplayCache({ maxEntries: 1.5 }), RangeError);
});

test('lookup after storePath with a matching request finds the entry until it expires', () => {
  const segment = fc.stringMatching(/^[a-z0-9._~-]{1,6}$/).filter((s) => s !== '.' && s !== '..');
  fc.assert(
    fc.property(
      fc.array(segment, { maxLength: 5 }),
      fc.nat({ max: 5 }),
      fc.constantFrom('', '/', '/*'),
      fc.boolean(),
      fc.array(segment, { maxLength: 3 }),
      fc.integer({ min: 10, max: 100_000 }),
      fc.nat({ max: 200_000_000 }),
      (segments, depth, suffix, withHost, extra, ttlSeconds, elapsedMs) => {
        const clock = fakeClock();
        const cache = new ReplayCache({ maxEntries: 4, now: clock.now });
        const host = 'tenant.example.com';
        const prefixPath = `/${segments.slice(0, depth).join('/')}`;
        const pattern = `${withHost ? host : ''}${prefixPath}${suffix}`;
        const path = `/${segments.join('/')}`;
        stored(cache.storePath('router', request(host, path), pattern, ttlSeconds, false, ROUTE));
        const laterPath = `/${[...segments.slice(0, depth), ...extra].join('/')}`;
        clock.advance(elapsedMs);
        const found = cache.lookup('router', request(host, laterPath), []);
        assert.equal(found !== null, elapsedMs < ttlSeconds * 1000);
      },
    ),
  );
});
