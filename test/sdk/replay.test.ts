import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseReplayHeader, withCacheHeaders, type ReplayDirective } from '../../src/replay/directive.ts';
import {
  hostCachePattern,
  invalidateReplayCacheHeaders,
  replay,
  replayCacheHeaders,
  replayHeaders,
  RicochetSdkError,
  type ReplayOptions,
} from '../../src/sdk/index.ts';

/** rejects asserts that `run` throws a RicochetSdkError with `code` blaming `field`. */
function rejects(run: () => unknown, code: string, field: string | null): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof RicochetSdkError, `expected a RicochetSdkError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.field, field);
    return true;
  });
}

test('replay writes every field in a fixed order, separated by ";" with no spaces', () => {
  const value = replay({
    fallback: 'prefer_self',
    timeout: '10s',
    elsewhere: true,
    state: 'k1',
    preferInstance: '3d8d413b29d089',
    region: 'iad',
    app: 'user-42',
  });
  assert.equal(value, 'app=user-42;region=iad;prefer_instance=3d8d413b29d089;state=k1;elsewhere=true;timeout=10s;fallback=prefer_self');
});

test('replay quotes a region list and lower-cases its codes (spec §1.1)', () => {
  assert.equal(replay({ region: ['IAD', 'ord', 'us'] }), 'region="iad,ord,us"');
  assert.equal(replay({ region: 'sjc,any' }), 'region="sjc,any"');
});

test('replay writes a timeout given in milliseconds as a duration', () => {
  assert.equal(replay({ app: 'a', timeout: 800 }), 'app=a;timeout=800ms');
});

test('replay leaves out elsewhere=false', () => {
  assert.equal(replay({ app: 'a', elsewhere: false }), 'app=a');
});

test('replay quotes a state holding a comma, a quote or a backslash, and the proxy reads it back', () => {
  const state = 'a,b="c"\\d';
  const value = replay({ app: 'a', state });
  assert.equal(value, 'app=a;state="a,b=\\"c\\"\\\\d"');
  assert.equal(parseReplayHeader(value).state, state);
});

test('replay refuses values the proxy would refuse, naming the option', () => {
  rejects(() => replay({ app: 'a', state: 'x;y' }), 'INVALID_REPLAY_OPTION', 'state');
  rejects(() => replay({ app: 'a', state: ' padded' }), 'INVALID_REPLAY_OPTION', 'state');
  rejects(() => replay({ app: 'a', state: 'é' }), 'INVALID_REPLAY_OPTION', 'state');
  rejects(() => replay({ app: 'a', state: 'x'.repeat(2049) }), 'INVALID_REPLAY_OPTION', 'state');
  rejects(() => replay({ app: 'no spaces' }), 'INVALID_REPLAY_OPTION', 'app');
  rejects(() => replay({ instance: 'a b' }), 'INVALID_REPLAY_OPTION', 'instance');
  rejects(() => replay({ preferInstance: '' }), 'INVALID_REPLAY_OPTION', 'preferInstance');
  rejects(() => replay({ region: 'iad,' }), 'INVALID_REPLAY_OPTION', 'region');
  rejects(() => replay({ region: [] }), 'INVALID_REPLAY_OPTION', 'region');
  rejects(() => replay({ app: 'a', timeout: '10' }), 'INVALID_REPLAY_OPTION', 'timeout');
  rejects(() => replay({ app: 'a', timeout: 0 }), 'INVALID_REPLAY_OPTION', 'timeout');
  rejects(() => replay({ app: 'a', timeout: Number.NaN }), 'INVALID_REPLAY_OPTION', 'timeout');
  rejects(() => replay({ app: 'a', timeout: '11m' }), 'INVALID_REPLAY_OPTION', 'timeout');
  rejects(() => replay({ app: 'a', fallback: 'self' as 'force_self' }), 'INVALID_REPLAY_OPTION', 'fallback');
  rejects(() => replay({ app: 'a', elsewhere: 'yes' as unknown as boolean }), 'INVALID_REPLAY_OPTION', 'elsewhere');
  rejects(() => replay({ instance: 'a', preferInstance: 'b' }), 'INVALID_REPLAY_OPTION', 'preferInstance');
});

test('replay refuses an unknown option, so a snake_case typo never routes somewhere else', () => {
  rejects(() => replay({ app: 'a', prefer_instance: 'x' } as ReplayOptions), 'INVALID_REPLAY_OPTION', 'prefer_instance');
});

test('replay refuses options with no field at all', () => {
  rejects(() => replay({}), 'INVALID_REPLAY_OPTION', null);
});

const appName = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const machineId = fc.stringMatching(/^[0-9a-f]{14}$/);
const region = fc.constantFrom('iad', 'sjc', 'ams', 'us', 'eu', 'any');
const state = fc.stringMatching(/^[\x21-\x3a\x3c-\x7e]([\x20-\x3a\x3c-\x7e]{0,40}[\x21-\x3a\x3c-\x7e])?$/);
const options = fc.record(
  {
    app: appName,
    region: fc.oneof(region, fc.array(region, { minLength: 1, maxLength: 3 })),
    instance: machineId,
    state,
    elsewhere: fc.boolean(),
    timeout: fc.integer({ min: 1, max: 600_000 }),
    fallback: fc.constantFrom('force_self' as const, 'prefer_self' as const),
  },
  { requiredKeys: ['app'] },
);

test('whatever replay writes, the proxy parses back to the same directive', () => {
  fc.assert(
    fc.property(options, (o) => {
      const parsed: ReplayDirective = parseReplayHeader(replay(o));
      assert.equal(parsed.app, o.app);
      assert.deepEqual(parsed.regions, o.region === undefined ? null : [o.region].flat());
      assert.equal(parsed.instance, o.instance ?? null);
      assert.equal(parsed.state, o.state ?? null);
      assert.equal(parsed.elsewhere, o.elsewhere ?? false);
      assert.equal(parsed.timeoutMs, o.timeout ?? null);
      assert.equal(parsed.fallback, o.fallback ?? null);
    }),
    { numRuns: 300 },
  );
});

test('replayHeaders adds the cache headers, and the proxy reads them as a cacheable directive', () => {
  const headers = replayHeaders({ app: 'cell-a' }, { cache: { pattern: 'acme.example.com/*', ttlSeconds: 60, allowBypass: true } });
  assert.deepEqual(headers, {
    'fly-replay': 'app=cell-a',
    'fly-replay-cache': 'acme.example.com/*',
    'fly-replay-cache-ttl-secs': '60',
    'fly-replay-cache-allow-bypass': 'yes',
  });
  const directive = withCacheHeaders(parseReplayHeader(headers['fly-replay']), {
    cache: headers['fly-replay-cache'],
    ttl: headers['fly-replay-cache-ttl-secs'],
    allowBypass: headers['fly-replay-cache-allow-bypass'],
  });
  assert.deepEqual(directive.cache, { prefix: 'acme.example.com/*', ttlSeconds: 60, allowBypass: true, invalidate: false });
});

test('replayHeaders refuses to cache a replay with state, timeout or fallback (spec §5.4)', () => {
  const cache = { pattern: '/x', ttlSeconds: 60 };
  rejects(() => replayHeaders({ app: 'a', state: 's' }, { cache }), 'INVALID_REPLAY_CACHE', 'state');
  rejects(() => replayHeaders({ app: 'a', timeout: '1s' }, { cache }), 'INVALID_REPLAY_CACHE', 'timeout');
  rejects(() => replayHeaders({ app: 'a', fallback: 'force_self' }, { cache }), 'INVALID_REPLAY_CACHE', 'fallback');
});

test('replayCacheHeaders refuses a TTL under 10 s, a fraction, a port, a scheme or an inner wildcard', () => {
  rejects(() => replayCacheHeaders({ pattern: '/x', ttlSeconds: 9 }), 'INVALID_REPLAY_CACHE', 'cache.ttlSeconds');
  rejects(() => replayCacheHeaders({ pattern: '/x', ttlSeconds: 10.5 }), 'INVALID_REPLAY_CACHE', 'cache.ttlSeconds');
  rejects(() => replayCacheHeaders({ pattern: 'a.com:80/x', ttlSeconds: 10 }), 'INVALID_REPLAY_CACHE', 'cache.pattern');
  rejects(() => replayCacheHeaders({ pattern: 'https://a.com/x', ttlSeconds: 10 }), 'INVALID_REPLAY_CACHE', 'cache.pattern');
  rejects(() => replayCacheHeaders({ pattern: '/a/*/b', ttlSeconds: 10 }), 'INVALID_REPLAY_CACHE', 'cache.pattern');
  rejects(() => replayCacheHeaders({ pattern: '/x', ttlSeconds: 10, ttl: 5 } as never), 'INVALID_REPLAY_CACHE', 'cache.ttl');
  assert.deepEqual(replayCacheHeaders({ pattern: '/x', ttlSeconds: 10 }), { 'fly-replay-cache': '/x', 'fly-replay-cache-ttl-secs': '10' });
});

test('invalidateReplayCacheHeaders replays to the origin with fly-replay-cache: invalidate (spec §5.3)', () => {
  const headers = invalidateReplayCacheHeaders({ app: 'router' });
  assert.deepEqual(headers, { 'fly-replay': 'app=router', 'fly-replay-cache': 'invalidate' });
  const directive = withCacheHeaders(parseReplayHeader(headers['fly-replay']), { cache: headers['fly-replay-cache'] });
  assert.equal(directive.cache?.invalidate, true);
});

test('hostCachePattern covers one host, without its port, lower-cased', () => {
  assert.equal(hostCachePattern('Acme.Example.com:8080'), 'acme.example.com/*');
  assert.equal(hostCachePattern('acme.example.com', '/api'), 'acme.example.com/api/*');
  assert.equal(hostCachePattern('acme.example.com', '/api/*'), 'acme.example.com/api/*');
  assert.equal(hostCachePattern('[::1]:80'), '[::1]/*');
  rejects(() => hostCachePattern(''), 'INVALID_REPLAY_CACHE', 'host');
  rejects(() => hostCachePattern('a b'), 'INVALID_REPLAY_CACHE', 'host');
  rejects(() => hostCachePattern('a.com', 'api'), 'INVALID_REPLAY_CACHE', 'path');
});
