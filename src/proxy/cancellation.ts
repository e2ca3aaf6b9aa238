/**
 * Cancellation says that a request's client went away. It is made for every request, so it is
 * a plain object: the upstream exchange under way registers one callback (`onCancel`), and an
 * AbortSignal, for waits that take one (the hard-limit queue), is made only when asked for.
 */
import type { CancelHook } from '../upstream/connection.ts';

export class Cancellation implements CancelHook {
  cancelled = false;
  onCancel: (() => void) | null = null;
  #controller: AbortController | null = null;

  /** signal is aborted when the client goes away (already aborted if it has). */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.cancelled) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.#controller?.abort();
    this.onCancel?.();
  }
}
