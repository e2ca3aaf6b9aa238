import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MachineConfig } from '../../src/catalog/types.ts';
import type { MachineExit } from '../../src/machines/driver.ts';
import { backoffDelayMs, DEFAULT_MAX_RETRIES, restartDecision } from '../../src/machines/restart-policy.ts';

const CLEAN: MachineExit = { code: 0, signal: null };
const CRASH: MachineExit = { code: 1, signal: null };
const KILLED: MachineExit = { code: null, signal: 'SIGKILL' };
const BACKOFF = { initialMs: 100, maxMs: 1_000 };

const cases: [string, MachineConfig['restart'], MachineExit, number, ReturnType<typeof restartDecision>][] = [
  ['policy no settles a clean exit as stopped', { policy: 'no' }, CLEAN, 0, { restart: false, state: 'stopped' }],
  ['policy no settles a crash as failed', { policy: 'no' }, CRASH, 0, { restart: false, state: 'failed' }],
  ['policy no settles a kill as failed', { policy: 'no' }, KILLED, 0, { restart: false, state: 'failed' }],
  ['on-failure restarts a crash', { policy: 'on-failure' }, CRASH, 0, { restart: true, delayMs: 100 }],
  ['on-failure restarts a kill by signal', { policy: 'on-failure' }, KILLED, 1, { restart: true, delayMs: 200 }],
  ['on-failure does not restart a clean exit', { policy: 'on-failure' }, CLEAN, 0, { restart: false, state: 'stopped' }],
  ['on-failure stops restarting after max_retries', { policy: 'on-failure', max_retries: 2 }, CRASH, 2, { restart: false, state: 'failed' }],
  ['always restarts a clean exit', { policy: 'always' }, CLEAN, 0, { restart: true, delayMs: 100 }],
  ['always restarts a crash', { policy: 'always' }, CRASH, 3, { restart: true, delayMs: 800 }],
  ['always settles a clean exit as stopped once retries are used up', { policy: 'always', max_retries: 1 }, CLEAN, 1, { restart: false, state: 'stopped' }],
  ['always settles a crash as failed once retries are used up', { policy: 'always', max_retries: 1 }, CRASH, 1, { restart: false, state: 'failed' }],
  ['max_retries 0 never restarts', { policy: 'always', max_retries: 0 }, CRASH, 0, { restart: false, state: 'failed' }],
  ['without max_retries the default bounds restarts', { policy: 'on-failure' }, CRASH, DEFAULT_MAX_RETRIES, { restart: false, state: 'failed' }],
];

for (const [name, restart, exit, attempt, expected] of cases) {
  test(`restartDecision: ${name}`, () => {
    assert.deepEqual(restartDecision(restart, exit, attempt, BACKOFF), expected);
  });
}

test('backoffDelayMs doubles from initialMs and never passes maxMs', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 100].map((attempt) => backoffDelayMs(BACKOFF, attempt)),
    [100, 200, 400, 800, 1_000, 1_000, 1_000],
  );
});
