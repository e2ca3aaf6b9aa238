import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DURATION_MAX_CHARS, DurationError, parseDurationMs } from '../../src/replay/duration.ts';

test('parseDurationMs reads Go durations into milliseconds', () => {
  const cases: [string, number][] = [
    ['10s', 10_000],
    ['800ms', 800],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['2h45m', 9_900_000],
    ['1h2m3.5s', 3_723_500],
    ['.5s', 500],
    ['5.s', 5000],
    ['500us', 0.5],
    ['500\u00b5s', 0.5],
    ['500\u03bcs', 0.5],
    ['1500000ns', 1.5],
    ['1s500ms', 1500],
    ['+3s', 3000],
    ['0', 0],
    ['+0', 0],
    ['0s', 0],
    ['0.000000001s', 0.000001],
  ];
  for (const [text, ms] of cases) assert.equal(parseDurationMs(text), ms, text);
});

test('parseDurationMs refuses text that is not a Go duration, bare numbers and negatives', () => {
  for (const text of [
    '',
    '10',
    '1.5',
    '-1s',
    '-0',
    '+',
    's',
    '.s',
    '10x',
    '10S',
    '1 s',
    ' 1s',
    '1s ',
    '1.5.5s',
    '1s-2s',
    '1d',
    'ten seconds',
    '9999999999999999999h',
    '1' + '0'.repeat(DURATION_MAX_CHARS) + 's',
  ]) {
    assert.throws(
      () => parseDurationMs(text),
      (error: unknown) =>
        error instanceof DurationError && error instanceof RangeError && error.code === 'INVALID_DURATION',
      JSON.stringify(text),
    );
  }
});

test('parseDurationMs accepts durations up to Go\'s int64 nanosecond limit', () => {
  assert.equal(parseDurationMs('2562047h'), 2_562_047 * 3_600_000);
  assert.throws(() => parseDurationMs('2562048h'), DurationError);
});
