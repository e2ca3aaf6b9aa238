/**
 * HardLimitQueue holds requests while every machine they could go to is at its hard limit:
 * "new requests are queued until one drops below it", and after long overload the proxy answers
 * 503 (spec §8.2.5). One bounded FIFO per key; the caller builds the key from the app and the
 * service port, and calls `notify(key)` whenever a unit of load on that service is released.
 *
 * A woken waiter holds no reservation: it ranks the machines again, and queues again if another
 * request took the slot first. The caller must call `wait` in the same synchronous step as the
 * ranking that found every machine full, so that no release can fall between the two.
 */
import { ProxyError } from '../proxy/errors.ts';

/** HARD_LIMIT_RETRY_AFTER_SECONDS is the Retry-After sent with PL02. */
export const HARD_LIMIT_RETRY_AFTER_SECONDS = 1;

export interface HardLimitQueueOptions {
  /** Waiters allowed per key; one more is refused at once with PL02. */
  maxWaiters: number;
  /** Longest wait before PL02. */
  maxWaitMs: number;
  /** Injected clock for tests; defaults to an unref'd setTimeout. */
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** WaitOptions shape one wait; a request woken without finding a slot waits again with them. */
export interface WaitOptions {
  /** How long this wait may last, at most `maxWaitMs`: a requeued request keeps its first deadline. */
  waitMs?: number;
  /** Join at the head of the queue: a request woken too early keeps its place (FIFO). */
  front?: boolean;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  timer: unknown;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class HardLimitQueue {
  #maxWaiters: number;
  #maxWaitMs: number;
  #setTimer: (callback: () => void, ms: number) => unknown;
  #clearTimer: (handle: unknown) => void;
  /** Sets keep insertion order: the first waiter is the oldest, and removal is O(1). */
  #queues = new Map<string, Set<Waiter>>();
  #closed = false;

  constructor(options: HardLimitQueueOptions) {
    const { maxWaiters, maxWaitMs } = options;
    if (!Number.isInteger(maxWaiters) || maxWaiters < 0) {
      throw new RangeError(
        `Cannot create HardLimitQueue: maxWaiters is ${maxWaiters}, expected an integer >= 0`,
      );
    }
    if (typeof maxWaitMs !== 'number' || !Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
      throw new RangeError(
        `Cannot create HardLimitQueue: maxWaitMs is ${maxWaitMs}, expected a finite number >= 0`,
      );
    }
    this.#maxWaiters = maxWaiters;
    this.#maxWaitMs = maxWaitMs;
    this.#setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms).unref());
    this.#clearTimer =
      options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
  }

  /**
   * wait resolves when `notify(key)` picks this waiter (oldest first). It rejects with PL02 (and
   * `retry-after`) when the key's queue is full or the wait runs out (`waitMs`, at most
   * `maxWaitMs`), with RC05 once the queue is closed, and with `signal.reason` when the signal
   * aborts.
   */
  wait(key: string, signal?: AbortSignal, options: WaitOptions = {}): Promise<void> {
    if (this.#closed) return Promise.reject(shuttingDown());
    if (signal?.aborted) return Promise.reject(signal.reason);
    const queue = this.#queues.get(key) ?? new Set<Waiter>();
    if (queue.size >= this.#maxWaiters) {
      return Promise.reject(overloaded(`Cannot queue request for "${key}": ${queue.size} already waiting`));
    }
    const waitMs = Math.max(0, Math.min(this.#maxWaitMs, options.waitMs ?? this.#maxWaitMs));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        timer: undefined,
        onAbort: () => this.#settle(key, waiter, { error: signal?.reason }),
      };
      this.#queues.set(key, options.front === true ? new Set([waiter, ...queue]) : queue.add(waiter));
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      waiter.timer = this.#setTimer(() => {
        const error = overloaded(`Cannot route request for "${key}": no capacity within ${this.#maxWaitMs} ms`);
        this.#settle(key, waiter, { error });
      }, waitMs);
    });
  }

  /** notify wakes the oldest waiter of `key`, if any: one unit of capacity came free. */
  notify(key: string): void {
    const oldest = this.#queues.get(key)?.values().next();
    if (oldest !== undefined && !oldest.done) this.#settle(key, oldest.value, null);
  }

  /** keys lists the keys that have requests waiting. */
  keys(): string[] {
    return [...this.#queues.keys()];
  }

  /** size is the number of requests waiting on `key`. */
  size(key: string): number {
    return this.#queues.get(key)?.size ?? 0;
  }

  /** close rejects every waiter and every later `wait` with RC05 (shutdown). Idempotent. */
  close(): void {
    this.#closed = true;
    for (const [key, queue] of [...this.#queues]) {
      for (const waiter of [...queue]) this.#settle(key, waiter, { error: shuttingDown() });
    }
  }

  /** settle takes `waiter` out of its queue and resolves it (`failure` null) or rejects it. */
  #settle(key: string, waiter: Waiter, failure: { error: unknown } | null): void {
    const queue = this.#queues.get(key);
    if (queue === undefined || !queue.delete(waiter)) return;
    if (queue.size === 0) this.#queues.delete(key);
    this.#clearTimer(waiter.timer);
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (failure === null) waiter.resolve();
    else waiter.reject(failure.error);
  }
}

function overloaded(message: string): ProxyError {
  return new ProxyError('PL02', message, {
    source: 'upstream',
    headers: { 'retry-after': String(HARD_LIMIT_RETRY_AFTER_SECONDS) },
  });
}

function shuttingDown(): ProxyError {
  return new ProxyError('RC05', undefined, { source: 'internal' });
}
