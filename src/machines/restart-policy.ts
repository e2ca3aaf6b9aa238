/**
 * restartDecision applies a machine's `restart` config (spec §14: policy `no` | `on-failure` |
 * `always`, `max_retries`) to an exit that nobody asked for. Pure: values in, values out.
 */
import type { MachineConfig } from '../catalog/types.ts';
import type { MachineExit } from './driver.ts';

/**
 * DEFAULT_MAX_RETRIES bounds consecutive restarts when `max_retries` is unset. [UNDOC] Fly
 * documents max_retries for on-failure only; Ricochet bounds `always` the same way so that a
 * crash loop ends in `failed` instead of spinning forever.
 */
export const DEFAULT_MAX_RETRIES = 10;

/** RestartBackoff is the delay before restart n (0-based): initialMs * 2^n, capped at maxMs. */
export interface RestartBackoff {
  initialMs: number;
  maxMs: number;
}

/** DEFAULT_RESTART_BACKOFF: 0.5 s, 1 s, 2 s ... at most 30 s between restarts. */
export const DEFAULT_RESTART_BACKOFF: RestartBackoff = { initialMs: 500, maxMs: 30_000 };

export type RestartDecision =
  | { restart: true; delayMs: number }
  | { restart: false; state: 'stopped' | 'failed' };

/**
 * restartDecision says whether to restart after `exit`, given `attempt` restarts already made
 * in a row. An exit with code 0 is clean; a non-zero code or a signal is a failure. Without a
 * restart (policy, or retries used up) the machine is `stopped` after a clean exit and `failed`
 * otherwise.
 */
export function restartDecision(
  restart: MachineConfig['restart'],
  exit: MachineExit,
  attempt: number,
  backoff: RestartBackoff = DEFAULT_RESTART_BACKOFF,
): RestartDecision {
  const clean = exit.code === 0 && exit.signal === null;
  const settled: RestartDecision = { restart: false, state: clean ? 'stopped' : 'failed' };
  const wanted = restart.policy === 'always' || (restart.policy === 'on-failure' && !clean);
  if (!wanted) return settled;
  const maxRetries = restart.max_retries ?? DEFAULT_MAX_RETRIES;
  if (attempt >= maxRetries) return settled;
  return { restart: true, delayMs: backoffDelayMs(backoff, attempt) };
}

/** backoffDelayMs is the delay before restart `attempt` (0-based). */
export function backoffDelayMs(backoff: RestartBackoff, attempt: number): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
}
