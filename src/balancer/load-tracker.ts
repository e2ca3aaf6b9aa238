/**
 * LoadTracker counts in-flight requests or connections per key (spec §8.1: load is what
 * `soft_limit` and `hard_limit` are compared with). The key is a machine id, or a machine id plus
 * service when a machine serves several (design doc: load is per machine, per service).
 *
 * Counts stay exact whatever happens to a request: every `acquire` hands back a release that
 * takes effect once, so a release called from both an error path and a `finally`, or a replay
 * that releases the first machine before taking the next, never counts twice.
 */
export class LoadTracker {
  #counts = new Map<string, number>();
  #total = 0;
  #listeners = new Set<(machineId: string) => void>();

  /** acquire counts one more in-flight unit on `machineId`; call the result to release it. */
  acquire(machineId: string): () => void {
    if (typeof machineId !== 'string' || machineId === '') {
      throw new TypeError(`Cannot track load: machine id is ${JSON.stringify(machineId)}`);
    }
    this.#counts.set(machineId, (this.#counts.get(machineId) ?? 0) + 1);
    this.#total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release(machineId);
    };
  }

  /** load is the number of unreleased acquisitions of `machineId`. */
  load(machineId: string): number {
    return this.#counts.get(machineId) ?? 0;
  }

  /** total is the number of unreleased acquisitions across all machines. */
  total(): number {
    return this.#total;
  }

  /**
   * onRelease calls `listener` after every release, once the count is already lower, so that a
   * request waiting for capacity (hard-limit-queue.ts) can be woken. Returns an unsubscribe.
   */
  onRelease(listener: (machineId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * idle resolves once `machineId` has no load, or once `timeoutMs` has passed, with whether it
   * is idle: how a stopping machine's in-flight requests are drained (spec §9.4 kill_timeout).
   */
  idle(machineId: string, timeoutMs: number): Promise<boolean> {
    if (this.load(machineId) === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (idle: boolean): void => {
        clearTimeout(timer);
        unsubscribe();
        resolve(idle);
      };
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      const unsubscribe = this.onRelease((id) => {
        if (id === machineId && this.load(machineId) === 0) done(true);
      });
    });
  }

  #release(machineId: string): void {
    const count = (this.#counts.get(machineId) ?? 0) - 1;
    // Drop idle entries: machine ids come and go, the map must not grow with them.
    if (count <= 0) this.#counts.delete(machineId);
    else this.#counts.set(machineId, count);
    this.#total -= 1;
    // Every listener runs even if one throws; the counts above are already exact.
    const errors: unknown[] = [];
    for (const listener of [...this.#listeners]) {
      try {
        listener(machineId);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'LoadTracker release listeners failed');
  }
}
