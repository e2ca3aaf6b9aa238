import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStopSignal, parseStopTimeoutMs, stopSettings } from '../../src/machines/stop-config.ts';

test('stopSettings defaults to SIGINT and 5 s (spec §9.4)', () => {
  assert.deepEqual(stopSettings({ stop_config: {} }), { signal: 'SIGINT', timeoutMs: 5_000 });
});

test('stopSettings takes stop_config, and explicit options over it', () => {
  const config = { stop_config: { signal: 'SIGTERM', timeout: '10s' } };
  assert.deepEqual(stopSettings(config), { signal: 'SIGTERM', timeoutMs: 10_000 });
  assert.deepEqual(stopSettings(config, { signal: 'SIGQUIT', timeoutMs: 250 }), { signal: 'SIGQUIT', timeoutMs: 250 });
});

test('parseStopSignal accepts names with or without SIG, in any case', () => {
  assert.equal(parseStopSignal('SIGTERM'), 'SIGTERM');
  assert.equal(parseStopSignal('term'), 'SIGTERM');
  assert.equal(parseStopSignal('SigUsr1'), 'SIGUSR1');
});

test('parseStopSignal rejects an unknown signal with a RangeError', () => {
  assert.throws(() => parseStopSignal('SIGNOPE'), RangeError);
  assert.throws(() => parseStopSignal(''), RangeError);
});

test('parseStopTimeoutMs reads Go durations and bare seconds, capped at 300 s', () => {
  const cases: [string, number][] = [
    ['5s', 5_000],
    ['250ms', 250],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['7', 7_000],
    ['1h', 300_000],
    ['500000000ns', 500],
  ];
  for (const [text, ms] of cases) assert.equal(parseStopTimeoutMs(text), ms, text);
});

test('parseStopTimeoutMs rejects what is not a duration with a RangeError', () => {
  for (const text of ['', 'soon', '5 s', '5x', 's5', '-1s']) assert.throws(() => parseStopTimeoutMs(text), RangeError, text);
});

test('stopSettings rejects a negative timeout', () => {
  assert.throws(() => stopSettings({ stop_config: {} }, { timeoutMs: -1 }), RangeError);
});
