import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { formatReplayFailed, formatReplaySrc } from '../../src/replay/replay-src.ts';
import {
  headerOf,
  parseReplayCacheStatus,
  parseReplayFailed,
  parseReplaySrc,
  replayCacheStatusOf,
  replayFailedOf,
  replaySrcOf,
} from '../../src/sdk/index.ts';

test('parseReplaySrc reads what the proxy writes, state included', () => {
  const value = formatReplaySrc({ instance: '3d8d413b29d089', region: 'sjc', t: 1_723_000_000_123_456, state: 'k=v,w' });
  const parsed = parseReplaySrc(value);
  assert.equal(parsed?.instance, '3d8d413b29d089');
  assert.equal(parsed?.region, 'sjc');
  assert.equal(parsed?.t, 1_723_000_000_123_456);
  assert.equal(parsed?.state, 'k=v,w');
});

test('parseReplaySrc tolerates the blueprint form with "," between fields and spaces (spec §6.1)', () => {
  const parsed = parseReplaySrc('instance=abc, region=iad, t=17, state=key');
  assert.equal(parsed?.instance, 'abc');
  assert.equal(parsed?.region, 'iad');
  assert.equal(parsed?.t, 17);
  assert.equal(parsed?.state, 'key');
});

test('parseReplaySrc is null for an absent or empty header: the request was not replayed', () => {
  assert.equal(parseReplaySrc(undefined), null);
  assert.equal(parseReplaySrc(null), null);
  assert.equal(parseReplaySrc('  '), null);
});

test('parseReplaySrc leaves out a t that is not a whole number, and keeps every pair in fields', () => {
  const parsed = parseReplaySrc('instance=a;region=iad;t=soon;extra=1');
  assert.equal(parsed?.t, undefined);
  assert.equal(parsed?.state, undefined);
  assert.deepEqual({ ...parsed?.fields }, { instance: 'a', region: 'iad', t: 'soon', extra: '1' });
});

test('parseReplayFailed reads a fallback delivery header, and is null without one', () => {
  const value = formatReplayFailed({
    instance: null,
    app: 'user-1',
    region: null,
    replaySource: '3d8d413b29d089',
    reason: 'no_candidate',
    elapsedMs: 12,
  });
  assert.deepEqual(parseReplayFailed(value), {
    instance: null,
    app: 'user-1',
    region: null,
    replaySource: '3d8d413b29d089',
    reason: 'no_candidate',
    elapsedMs: 12,
  });
  assert.equal(parseReplayFailed(undefined), null);
  assert.equal(parseReplayFailed('app=x'), null);
});

test('parseReplayCacheStatus knows hit, miss and bypass, case-insensitively, and nothing else', () => {
  assert.equal(parseReplayCacheStatus('hit'), 'hit');
  assert.equal(parseReplayCacheStatus(' MISS '), 'miss');
  assert.equal(parseReplayCacheStatus('bypass'), 'bypass');
  assert.equal(parseReplayCacheStatus('stale'), null);
  assert.equal(parseReplayCacheStatus(undefined), null);
});

test('the *Of readers take a fetch Request, fetch Headers, a Node request or a header record', () => {
  const src = 'instance=a;region=iad;t=1;state=s';
  const request = new Request('http://x/', { headers: { 'Fly-Replay-Src': src, 'fly-replay-cache-status': 'hit' } });
  const nodeHeaders: IncomingHttpHeaders = { 'fly-replay-src': src, 'fly-replay-failed': 'app=a;replay_source=b;reason=timeout;elapsed_ms=5' };
  assert.equal(replaySrcOf(request)?.state, 's');
  assert.equal(replaySrcOf(request.headers)?.state, 's');
  assert.equal(replaySrcOf({ headers: nodeHeaders })?.state, 's');
  assert.equal(replaySrcOf(nodeHeaders)?.state, 's');
  assert.equal(replaySrcOf({ 'Fly-Replay-Src': src })?.state, 's');
  assert.equal(replayCacheStatusOf(request), 'hit');
  assert.equal(replayFailedOf({ headers: nodeHeaders })?.reason, 'timeout');
  assert.equal(replaySrcOf({}), null);
});

test('headerOf joins repeated values with ", " as Node does', () => {
  assert.equal(headerOf({ 'x-a': ['1', '2'] }, 'X-A'), '1, 2');
  assert.equal(headerOf({ headers: new Headers() }, 'x-a'), undefined);
});
