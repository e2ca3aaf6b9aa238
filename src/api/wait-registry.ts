/**
 * WaitRegistry holds the open `/wait` requests (spec §14): each waits for a predicate over one
 * machine record to hold, re-checked after every burst of catalog changes, so it answers in the
 * same tick the change lands (the record it saw is the one routing reads). Waits are bounded in
 * number (`too_many_waits`, 429) and in time (the caller's timeout).
 */
import type { Catalog } from '../catalog/catalog.ts';
import type { Machine } from '../catalog/types.ts';
import { ApiError } from './api-error.ts';

/** WAITS_MAX bounds the `/wait` requests open at once on a node. */
export const WAITS_MAX = 1024;

export type WaitOutcome = 'reached' | 'timeout' | 'aborted' | 'closed';

interface Waiter {
  id: string;
  predicate: (machine: Machine | undefined) => boolean;
  finish: (outcome: WaitOutcome) => void;
}

export interface WaitRegistryOptions {
  max?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class WaitRegistry {
  #catalog: Catalog;
  #max: number;
  #setTimer: (fn: () => void, ms: number) => unknown;
  #clearTimer: (handle: unknown) => void;
  #waiters = new Set<Waiter>();
  #unsubscribe: (() => void) | null = null;
  #closed = false;

  constructor(catalog: Catalog, options: WaitRegistryOptions = {}) {
    this.#catalog = catalog;
    this.#max = options.max ?? WAITS_MAX;
    this.#setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as NodeJS.Timeout));
  }

  get size(): number {
    return this.#waiters.size;
  }

  /** wait resolves once `predicate` holds for machine `id`, or with why it stopped waiting. */
  wait(id: string, predicate: Waiter['predicate'], timeoutMs: number, signal: AbortSignal): Promise<WaitOutcome> {
    if (this.#closed) return Promise.resolve('closed');
    if (predicate(this.#catalog.get(id))) return Promise.resolve('reached');
    if (this.#waiters.size >= this.#max) {
      throw new ApiError('too_many_waits', `Too many open waits (${this.#max}); try again shortly`, { headers: { 'retry-after': '1' } });
    }
    this.#unsubscribe ??= this.#catalog.onChange(() => this.#check());
    return new Promise<WaitOutcome>((resolve) => {
      const onAbort = (): void => waiter.finish('aborted');
      const timer = this.#setTimer(() => waiter.finish('timeout'), timeoutMs);
      const waiter: Waiter = {
        id,
        predicate,
        finish: (outcome) => {
          if (!this.#waiters.delete(waiter)) return;
          this.#clearTimer(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
      };
      this.#waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
    });
  }

  /** close ends every open wait with `closed` and refuses new ones. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    for (const waiter of [...this.#waiters]) waiter.finish('closed');
  }

  #check(): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.predicate(this.#catalog.get(waiter.id))) waiter.finish('reached');
    }
  }
}
