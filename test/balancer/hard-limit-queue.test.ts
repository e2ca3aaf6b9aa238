import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HardLimitQueue, type HardLimitQueueOptions } from '../../src/balancer/hard-limit-queue.ts';
import { ProxyError } from '../../src/proxy/errors.ts';

interface FakeTimer {
  callback: () => void;
  ms: number;
  cleared: boolean;
}

/** fakeTimers records timers so a test can fire them instead of waiting for time to pass. */
function fakeTimers() {
  const timers: FakeTimer[] = [];
  const options: Pick<HardLimitQueueOptions, 'setTimer' | 'clearTimer'> = {
    setTimer: (callback, ms) => {
      const timer = { callback, ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimer: (handle) => {
      (handle as FakeTimer).cleared = true;
    },
  };
  const fire = (timer: FakeTimer) => {
    if (!timer.cleared) timer.callback();
  };
  return { timers, options, fire };
}

/** settled reports how a promise has settled so far, without waiting on time. */
function track(promise: Promise<void>) {
  const state: { status: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { status: 'pending' };
  promise.then(
    () => (state.status = 'resolved'),
    (error: unknown) => {
      state.status = 'rejected';
      state.error = error;
    },
  );
  return state;
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function queue(overrides: Partial<HardLimitQueueOptions> = {}) {
  const clock = fakeTimers();
  const q = new HardLimitQueue({ maxWaiters: 3, maxWaitMs: 5000, ...clock.options, ...overrides });
  return { q, ...clock };
}

function assertPL02(error: unknown) {
  assert.ok(error instanceof ProxyError);
  assert.equal(error.code, 'PL02');
  assert.equal(error.status, 503);
  assert.equal(error.headers['retry-after'], '1');
}

test('HardLimitQueue wakes waiters of a key in the order they arrived', async () => {
  const { q } = queue();
  const woken: number[] = [];
  const waits = [1, 2, 3].map((n) => q.wait('app:80').then(() => woken.push(n)));
  q.notify('app:80');
  await waits[0];
  assert.deepEqual(woken, [1]);
  q.notify('app:80');
  q.notify('app:80');
  await Promise.all(waits);
  assert.deepEqual(woken, [1, 2, 3]);
  assert.equal(q.size('app:80'), 0);
});

test('HardLimitQueue notify wakes exactly one waiter', async () => {
  const { q } = queue();
  const first = track(q.wait('k'));
  const second = track(q.wait('k'));
  q.notify('k');
  await flush();
  assert.equal(first.status, 'resolved');
  assert.equal(second.status, 'pending');
  assert.equal(q.size('k'), 1);
  q.close();
  await flush();
});

test('HardLimitQueue keys are independent', async () => {
  const { q } = queue();
  const a = track(q.wait('a:80'));
  const b = track(q.wait('b:80'));
  q.notify('b:80');
  await flush();
  assert.equal(a.status, 'pending');
  assert.equal(b.status, 'resolved');
  assert.equal(q.size('a:80'), 1);
  q.close();
  await flush();
});

test('HardLimitQueue notify with nobody waiting is a no-op and is not remembered', async () => {
  const { q } = queue();
  q.notify('k');
  const later = track(q.wait('k'));
  await flush();
  assert.equal(later.status, 'pending');
  q.close();
  await flush();
});

test('HardLimitQueue refuses a waiter beyond maxWaiters with PL02 and retry-after', async () => {
  const { q } = queue({ maxWaiters: 2 });
  const waiting = [q.wait('k'), q.wait('k')];
  await assert.rejects(q.wait('k'), (error) => {
    assertPL02(error);
    return true;
  });
  assert.equal(q.size('k'), 2);
  q.notify('k');
  q.notify('k');
  await Promise.all(waiting);
});

test('HardLimitQueue with maxWaiters 0 refuses every waiter', async () => {
  const { q } = queue({ maxWaiters: 0 });
  await assert.rejects(q.wait('k'), (error) => {
    assertPL02(error);
    return true;
  });
});

test('HardLimitQueue rejects a waiter with PL02 when maxWaitMs runs out', async () => {
  const { q, timers, fire } = queue({ maxWaitMs: 250 });
  const first = track(q.wait('k'));
  const second = track(q.wait('k'));
  assert.deepEqual(timers.map((t) => t.ms), [250, 250]);
  fire(timers[0]);
  await flush();
  assert.equal(first.status, 'rejected');
  assertPL02(first.error);
  assert.equal(second.status, 'pending');
  assert.equal(q.size('k'), 1);
  q.close();
  await flush();
});

test('HardLimitQueue clears the timer of a woken waiter', async () => {
  const { q, timers } = queue();
  const waiting = q.wait('k');
  q.notify('k');
  await waiting;
  assert.equal(timers[0].cleared, true);
});

test('HardLimitQueue rejects a waiter with the signal reason when it aborts', async () => {
  const { q, timers } = queue();
  const controller = new AbortController();
  const waiting = q.wait('k', controller.signal);
  const other = track(q.wait('k'));
  const reason = new Error('client went away');
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  assert.equal(q.size('k'), 1);
  assert.equal(timers[0].cleared, true);
  // The aborted waiter no longer takes a notify: the next one does.
  q.notify('k');
  await flush();
  assert.equal(other.status, 'resolved');
});

test('HardLimitQueue rejects at once when the signal is already aborted', async () => {
  const { q } = queue();
  const signal = AbortSignal.abort();
  await assert.rejects(q.wait('k', signal), (error) => error === signal.reason);
  assert.equal(q.size('k'), 0);
});

test('HardLimitQueue rejects on abort even when the abort reason is null', async () => {
  const { q } = queue();
  const controller = new AbortController();
  const waiting = track(q.wait('k', controller.signal));
  controller.abort(null);
  await flush();
  assert.equal(waiting.status, 'rejected');
  assert.equal(waiting.error, null);
});

test('HardLimitQueue stops listening to the signal once the waiter is woken', async () => {
  const { q } = queue();
  const controller = new AbortController();
  const waiting = q.wait('k', controller.signal);
  q.notify('k');
  await waiting;
  controller.abort();
  assert.equal(q.size('k'), 0);
});

test('HardLimitQueue close rejects every waiter with RC05 and refuses new ones', async () => {
  const { q, timers } = queue();
  const waits = [q.wait('a'), q.wait('a'), q.wait('b')].map(track);
  q.close();
  await flush();
  for (const w of waits) {
    assert.equal(w.status, 'rejected');
    assert.ok(w.error instanceof ProxyError);
    assert.equal(w.error.code, 'RC05');
  }
  assert.ok(timers.every((t) => t.cleared));
  assert.equal(q.size('a'), 0);
  await assert.rejects(q.wait('a'), (error) => error instanceof ProxyError && error.code === 'RC05');
  q.close();
});

test('HardLimitQueue default timers reject a wait that outlasts maxWaitMs', async () => {
  const q = new HardLimitQueue({ maxWaiters: 1, maxWaitMs: 1 });
  await assert.rejects(q.wait('k'), (error) => {
    assertPL02(error);
    return true;
  });
});

test('HardLimitQueue rejects invalid options with a RangeError', () => {
  assert.throws(() => new HardLimitQueue({ maxWaiters: -1, maxWaitMs: 10 }), RangeError);
  assert.throws(() => new HardLimitQueue({ maxWaiters: 1.5, maxWaitMs: 10 }), RangeError);
  assert.throws(() => new HardLimitQueue({ maxWaiters: 1, maxWaitMs: Number.NaN }), RangeError);
});

test('HardLimitQueue puts a waiter that asks for the front ahead of the others', async () => {
  const q = new HardLimitQueue({ maxWaiters: 10, maxWaitMs: 60_000 });
  const woken: string[] = [];
  const waits = [q.wait('k').then(() => woken.push('second')), q.wait('k', undefined, { front: true }).then(() => woken.push('first'))];
  q.notify('k');
  q.notify('k');
  await Promise.all(waits);
  assert.deepEqual(woken, ['first', 'second']);
});

test('HardLimitQueue ends a wait after waitMs, never later than maxWaitMs', async () => {
  const timers: number[] = [];
  const q = new HardLimitQueue({
    maxWaiters: 10,
    maxWaitMs: 1_000,
    setTimer: (_fn, ms) => timers.push(ms),
    clearTimer: () => {},
  });
  void q.wait('k', undefined, { waitMs: 250 }).catch(() => {});
  void q.wait('k', undefined, { waitMs: 5_000 }).catch(() => {});
  assert.deepEqual(timers, [250, 1_000]);
  assert.deepEqual(q.keys(), ['k']);
  q.close();
  assert.deepEqual(q.keys(), []);
});
