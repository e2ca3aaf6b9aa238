import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadTracker } from '../../src/balancer/load-tracker.ts';

test('LoadTracker counts acquisitions per machine and in total', () => {
  const tracker = new LoadTracker();
  tracker.acquire('a');
  tracker.acquire('a');
  tracker.acquire('b');
  assert.equal(tracker.load('a'), 2);
  assert.equal(tracker.load('b'), 1);
  assert.equal(tracker.load('never'), 0);
  assert.equal(tracker.total(), 3);
});

test('LoadTracker release lowers the count by exactly one', () => {
  const tracker = new LoadTracker();
  const first = tracker.acquire('a');
  tracker.acquire('a');
  first();
  assert.equal(tracker.load('a'), 1);
  assert.equal(tracker.total(), 1);
});

test('LoadTracker release called twice counts once', () => {
  const tracker = new LoadTracker();
  const release = tracker.acquire('a');
  tracker.acquire('a');
  release();
  release();
  assert.equal(tracker.load('a'), 1);
  assert.equal(tracker.total(), 1);
});

test('LoadTracker stays exact when a request errors between acquire and release', async () => {
  const tracker = new LoadTracker();
  const request = async () => {
    const release = tracker.acquire('a');
    try {
      throw new Error('upstream reset');
    } catch (error) {
      release(); // the error path releases ...
      throw error;
    } finally {
      release(); // ... and so does the finally: still one release
    }
  };
  await assert.rejects(request());
  await assert.rejects(request());
  assert.equal(tracker.load('a'), 0);
  assert.equal(tracker.total(), 0);
});

test('LoadTracker stays exact when an aborted request releases from its abort listener', () => {
  const tracker = new LoadTracker();
  const controller = new AbortController();
  const release = tracker.acquire('a');
  controller.signal.addEventListener('abort', release);
  controller.abort();
  release(); // the response handler also releases when it sees the abort
  assert.equal(tracker.load('a'), 0);
});

test('LoadTracker moves load from one machine to the next across a replay', () => {
  const tracker = new LoadTracker();
  const onFirst = tracker.acquire('router');
  assert.equal(tracker.load('router'), 1);
  onFirst(); // the replaying response is drained ...
  const onTarget = tracker.acquire('target'); // ... and the request goes to the target
  assert.equal(tracker.load('router'), 0);
  assert.equal(tracker.load('target'), 1);
  onTarget();
  assert.equal(tracker.total(), 0);
});

test('LoadTracker releases of many concurrent requests in any order end at zero', () => {
  const tracker = new LoadTracker();
  const releases = Array.from({ length: 100 }, (_, i) => tracker.acquire(`m${i % 7}`));
  assert.equal(tracker.total(), 100);
  for (let i = releases.length - 1; i >= 0; i -= 2) releases[i]();
  for (let i = 0; i < releases.length; i += 1) releases[i]();
  assert.equal(tracker.total(), 0);
  for (let i = 0; i < 7; i += 1) assert.equal(tracker.load(`m${i}`), 0);
});

test('LoadTracker onRelease sees the lowered count, once per release', () => {
  const tracker = new LoadTracker();
  const seen: [string, number][] = [];
  tracker.onRelease((id) => seen.push([id, tracker.load(id)]));
  const release = tracker.acquire('a');
  tracker.acquire('a');
  release();
  release();
  assert.deepEqual(seen, [['a', 1]]);
});

test('LoadTracker onRelease returns an unsubscribe', () => {
  const tracker = new LoadTracker();
  let calls = 0;
  const off = tracker.onRelease(() => calls++);
  tracker.acquire('a')();
  off();
  tracker.acquire('a')();
  assert.equal(calls, 1);
});

test('LoadTracker keeps counts exact and runs every listener when one throws', () => {
  const tracker = new LoadTracker();
  let second = 0;
  tracker.onRelease(() => {
    throw new Error('listener bug');
  });
  tracker.onRelease(() => second++);
  const release = tracker.acquire('a');
  assert.throws(release, /listener bug/);
  assert.equal(second, 1);
  assert.equal(tracker.load('a'), 0);
  assert.doesNotThrow(release);
});

test('LoadTracker rejects an empty machine id with a TypeError', () => {
  assert.throws(() => new LoadTracker().acquire(''), TypeError);
});

test('LoadTracker.idle resolves true once the last unit is released, false when the time runs out', async () => {
  const tracker = new LoadTracker();
  assert.equal(await tracker.idle('m', 1_000), true);
  const release = tracker.acquire('m');
  const other = tracker.acquire('other');
  const idle = tracker.idle('m', 60_000);
  other();
  release();
  assert.equal(await idle, true);
  tracker.acquire('m');
  assert.equal(await tracker.idle('m', 1), false);
});
