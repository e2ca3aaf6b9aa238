import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatReplayFailed,
  formatReplaySrc,
  parseReplayFailed,
  parseReplaySrc,
  ReplayHeaderValueError,
  type ReplayFailed,
  type ReplaySrc,
} from '../../src/replay/replay-src.ts';

const T = 1_767_225_600_123_456; // 2026-01-01T00:00:00.123456Z in microseconds: 16 digits

function isValueError(error: unknown): boolean {
  return error instanceof ReplayHeaderValueError && error.code === 'INVALID_REPLAY_HEADER_VALUE';
}

test('formatReplaySrc writes instance, region, t and state separated by ; with no spaces', () => {
  assert.equal(
    formatReplaySrc({ instance: '3d8d413b29d089', region: 'iad', t: T, state: 'tenant-42' }),
    `instance=3d8d413b29d089;region=iad;t=${T};state=tenant-42`,
  );
});

test('formatReplaySrc leaves state out when the directive had none, and keeps an empty one', () => {
  assert.equal(formatReplaySrc({ instance: 'a', region: 'iad', t: T, state: null }), `instance=a;region=iad;t=${T}`);
  assert.equal(formatReplaySrc({ instance: 'a', region: 'iad', t: T, state: '' }), `instance=a;region=iad;t=${T};state=`);
});

test('formatReplaySrc output satisfies the regex of Fly\'s Ruby client', () => {
  const value = formatReplaySrc({ instance: 'a', region: 'iad', t: T, state: '{"k":"v, w"}' });
  assert.equal(/(?:^|;)state=([^;]*)/.exec(value)?.[1], '{"k":"v, w"}');
  assert.equal(/(?:^|;)t=([^;]*)/.exec(value)?.[1], String(T));
});

test('formatReplaySrc refuses values that would break the header', () => {
  const good: ReplaySrc = { instance: 'a', region: 'iad', t: T, state: null };
  const cases: ReplaySrc[] = [
    { ...good, state: 'a;b' },
    { ...good, state: ' padded' },
    { ...good, state: 'line\r\nx-injected: 1' },
    { ...good, state: 'caf\u00e9' },
    { ...good, instance: 'a;region=evil' },
    { ...good, t: -1 },
    { ...good, t: 1.5 },
    { ...good, t: Number.NaN },
  ];
  for (const src of cases) assert.throws(() => formatReplaySrc(src), isValueError, JSON.stringify(src));
});

test('parseReplaySrc reads the canonical form and the tolerated variants', () => {
  const full = { instance: '3d8d413b29d089', region: 'iad', t: T, state: 'tenant-42' };
  const fields = { instance: '3d8d413b29d089', region: 'iad', t: String(T), state: 'tenant-42' };
  for (const value of [
    `instance=3d8d413b29d089;region=iad;t=${T};state=tenant-42`,
    `instance=3d8d413b29d089; region=iad; t=${T}; state=tenant-42`,
    `instance=3d8d413b29d089,region=iad,t=${T},state=tenant-42`,
    `  Instance = 3d8d413b29d089 , REGION=iad ,t=${T},state=tenant-42 `,
    `state=tenant-42;t=${T};region=iad;instance=3d8d413b29d089`,
  ]) {
    assert.deepEqual(parseReplaySrc(value), { ...full, fields }, value);
  }
});

test('parseReplaySrc keeps a comma inside state when fields are separated by ;', () => {
  const parsed = parseReplaySrc(`instance=a;region=iad;t=${T};state=x,y=z`);
  assert.equal(parsed.state, 'x,y=z');
});

test('parseReplaySrc keeps unknown fields, skips junk and reads t only when it is a whole number', () => {
  const parsed = parseReplaySrc('instance=a;region=iad;t=soon;hop=2;junk;=x;instance=b');
  assert.deepEqual(parsed, { instance: 'a', region: 'iad', fields: { instance: 'a', region: 'iad', t: 'soon', hop: '2' } });
  assert.deepEqual(parseReplaySrc(''), { fields: {} });
  assert.equal(parseReplaySrc('t=99999999999999999').t, undefined);
});

test('formatReplaySrc and parseReplaySrc round-trip', () => {
  const cases: ReplaySrc[] = [
    { instance: '3d8d413b29d089', region: 'iad', t: T, state: 'psk:abc==' },
    { instance: '3d8d413b29d089', region: 'sjc', t: 0, state: null },
    { instance: 'm1', region: 'lab-1', t: T, state: 'a b, c=d' },
  ];
  for (const src of cases) {
    const { fields: _fields, ...known } = parseReplaySrc(formatReplaySrc(src));
    assert.deepEqual({ state: null, ...known }, src);
  }
});

test('formatReplayFailed writes the spec §3.4 fields in order', () => {
  const failed: ReplayFailed = {
    instance: '3d8d413b29d089',
    app: 'worker',
    region: 'ord',
    replaySource: '4d8d413b29d089',
    reason: 'timeout',
    elapsedMs: 10_012,
  };
  assert.equal(
    formatReplayFailed(failed),
    'instance=3d8d413b29d089;app=worker;region=ord;replay_source=4d8d413b29d089;reason=timeout;elapsed_ms=10012',
  );
  assert.equal(
    formatReplayFailed({ ...failed, instance: null, region: null, reason: 'no_candidate', elapsedMs: 3.6 }),
    'app=worker;replay_source=4d8d413b29d089;reason=no_candidate;elapsed_ms=4',
  );
});

test('formatReplayFailed refuses values that would break the header', () => {
  const good: ReplayFailed = { instance: null, app: 'w', region: null, replaySource: 'm', reason: 'timeout', elapsedMs: 1 };
  const cases: ReplayFailed[] = [
    { ...good, app: '' },
    { ...good, instance: '' },
    { ...good, app: 'w;reason=timeout' },
    { ...good, reason: 'gone' as ReplayFailed['reason'] },
    { ...good, elapsedMs: -1 },
    { ...good, elapsedMs: Number.POSITIVE_INFINITY },
  ];
  for (const failed of cases) assert.throws(() => formatReplayFailed(failed), isValueError, JSON.stringify(failed));
});

test('formatReplayFailed and parseReplayFailed round-trip for every reason', () => {
  for (const reason of ['timeout', 'retries_exhausted', 'no_candidate'] as const) {
    for (const [instance, region] of [['3d8d413b29d089', 'ord'], [null, null]] as const) {
      const failed: ReplayFailed = { instance, app: 'worker', region, replaySource: 'src-1', reason, elapsedMs: 812 };
      assert.deepEqual(parseReplayFailed(formatReplayFailed(failed)), failed);
    }
  }
});

test('parseReplayFailed tolerates spaces and commas and returns null when a required field is missing', () => {
  assert.deepEqual(parseReplayFailed('instance=a, app=w, region=ord, replay_source=m, reason=timeout, elapsed_ms=5'), {
    instance: 'a',
    app: 'w',
    region: 'ord',
    replaySource: 'm',
    reason: 'timeout',
    elapsedMs: 5,
  });
  for (const value of [
    '',
    'replay_source=m;reason=timeout;elapsed_ms=5',
    'app=w;reason=timeout;elapsed_ms=5',
    'app=w;replay_source=m;elapsed_ms=5',
    'app=w;replay_source=m;reason=crashed;elapsed_ms=5',
    'app=w;replay_source=m;reason=timeout',
    'app=w;replay_source=m;reason=timeout;elapsed_ms=1.5',
    'app=w;replay_source=m;reason=timeout;elapsed_ms=-1',
  ]) {
    assert.equal(parseReplayFailed(value), null, value);
  }
});
