import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkCacheTtl,
  isCacheablePath,
  isCacheRejection,
  matchesPattern,
  parseCachePattern,
} from '../../src/replay/cache-pattern.ts';

function rejectionRule(pattern: string): string | null {
  const parsed = parseCachePattern(pattern);
  return isCacheRejection(parsed) ? parsed.rule : null;
}

test('parseCachePattern treats /api, /api/ and /api/* as the same pattern', () => {
  for (const pattern of ['/api', '/api/', '/api/*']) {
    assert.deepEqual(parseCachePattern(pattern), { host: null, prefix: '/api' }, pattern);
  }
});

test('matchesPattern covers the prefix itself and paths under it, never a longer sibling', () => {
  for (const pattern of ['/api', '/api/', '/api/*']) {
    assert.equal(matchesPattern(pattern, 'example.com', '/api'), true, pattern);
    assert.equal(matchesPattern(pattern, 'example.com', '/api/'), true, pattern);
    assert.equal(matchesPattern(pattern, 'example.com', '/api/x/y'), true, pattern);
    assert.equal(matchesPattern(pattern, 'example.com', '/apix'), false, pattern);
    assert.equal(matchesPattern(pattern, 'example.com', '/ap'), false, pattern);
    assert.equal(matchesPattern(pattern, 'example.com', '/'), false, pattern);
  }
});

test('matchesPattern with /* or / covers every path', () => {
  for (const pattern of ['/*', '/']) {
    assert.equal(matchesPattern(pattern, 'example.com', '/'), true);
    assert.equal(matchesPattern(pattern, 'example.com', '/anything/at/all'), true);
  }
});

test('a host-less pattern matches any host', () => {
  assert.equal(matchesPattern('/api/*', 'a.example.com', '/api/x'), true);
  assert.equal(matchesPattern('/api/*', 'b.example.com', '/api/x'), true);
});

test('a pattern with a host matches only that host, case-insensitively', () => {
  assert.deepEqual(parseCachePattern('Example.COM/api/*'), { host: 'example.com', prefix: '/api' });
  assert.equal(matchesPattern('example.com/api/*', 'example.com', '/api/x'), true);
  assert.equal(matchesPattern('example.com/api/*', 'other.com', '/api/x'), false);
  assert.equal(matchesPattern('example.com/api/*', 'sub.example.com', '/api/x'), false);
});

test('a bare host pattern covers the whole host', () => {
  assert.deepEqual(parseCachePattern('example.com'), { host: 'example.com', prefix: '/' });
  assert.equal(matchesPattern('example.com', 'example.com', '/x'), true);
});

test('a pattern whose host includes a port is rejected', () => {
  assert.equal(rejectionRule('example.com:8080/api/*'), 'pattern-host-port');
  assert.equal(rejectionRule('example.com:/api'), 'pattern-host-port');
  assert.equal(rejectionRule('[::1]:8080/api'), 'pattern-host-port');
  assert.equal(matchesPattern('example.com:8080/api/*', 'example.com', '/api/x'), false);
});

test('an IPv6 literal host without a port is accepted', () => {
  assert.deepEqual(parseCachePattern('[::1]/api'), { host: '[::1]', prefix: '/api' });
});

test('a pattern with a scheme is rejected', () => {
  assert.equal(rejectionRule('https://example.com/api/*'), 'pattern-scheme');
});

test('a pattern with a wildcard other than a trailing /* is rejected', () => {
  assert.equal(rejectionRule('/api*'), 'pattern-wildcard');
  assert.equal(rejectionRule('/api/*/x'), 'pattern-wildcard');
  assert.equal(rejectionRule('/api/**'), 'pattern-wildcard');
});

test('a pattern with an invalid host, a query or dot segments is rejected', () => {
  assert.equal(rejectionRule('*'), 'pattern-host-invalid');
  assert.equal(rejectionRule('*.example.com/api'), 'pattern-host-invalid');
  assert.equal(rejectionRule('user@example.com/api'), 'pattern-host-invalid');
  assert.equal(rejectionRule('/api?x=1'), 'pattern-path-invalid');
  assert.equal(rejectionRule('/api/../admin'), 'pattern-path-invalid');
});

test('an empty pattern is rejected', () => {
  assert.equal(rejectionRule(''), 'pattern-empty');
  assert.equal(rejectionRule('   '), 'pattern-empty');
});

test('request paths with dot segments, encoded slashes or backslashes are never cacheable', () => {
  for (const path of ['/api/../admin', '/api/./x', '/api/%2e%2E/admin', '/api%2Fadmin', '/api\\x', 'api', '/a b']) {
    assert.equal(isCacheablePath(path), false, path);
    assert.equal(matchesPattern('/*', 'example.com', path), false, path);
  }
  for (const path of ['/', '/api/x.json', '/api/..x', '/a//b']) assert.equal(isCacheablePath(path), true, path);
});

test('checkCacheTtl accepts whole seconds from 10 and names the rule otherwise', () => {
  assert.equal(checkCacheTtl(10), null);
  assert.equal(checkCacheTtl(3600), null);
  assert.equal(checkCacheTtl(9)?.rule, 'ttl-below-minimum');
  assert.equal(checkCacheTtl(-1)?.rule, 'ttl-below-minimum');
  assert.equal(checkCacheTtl(10.5)?.rule, 'ttl-invalid');
  assert.equal(checkCacheTtl(Number.NaN)?.rule, 'ttl-invalid');
  assert.equal(checkCacheTtl(Number.POSITIVE_INFINITY)?.rule, 'ttl-invalid');
});
