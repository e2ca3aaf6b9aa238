/**
 * How a machine is stopped (spec §9.4, §14 `stop_config`): the signal (fly.toml `kill_signal`,
 * default SIGINT) and how long to wait before SIGKILL (`kill_timeout`, default 5 s, at most
 * 300 s). Pure: values in, values out; bad values throw a RangeError that names them.
 */
import { constants } from 'node:os';
import type { MachineConfig } from '../catalog/types.ts';

export const DEFAULT_STOP_SIGNAL: NodeJS.Signals = 'SIGINT';
export const DEFAULT_STOP_TIMEOUT_MS = 5_000;
/** MAX_STOP_TIMEOUT_MS is Fly's ceiling for kill_timeout (spec §9.4). */
export const MAX_STOP_TIMEOUT_MS = 300_000;

/** StopSettings is a resolved stop: which signal, and the wait before SIGKILL. */
export interface StopSettings {
  signal: NodeJS.Signals;
  timeoutMs: number;
}

/** parseStopSignal accepts "SIGTERM", "sigterm" or "TERM" and returns "SIGTERM". */
export function parseStopSignal(name: string): NodeJS.Signals {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!Object.hasOwn(constants.signals, full)) throw new RangeError(`Invalid stop signal "${name}"`);
  return full as NodeJS.Signals;
}

const DURATION_UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/**
 * parseStopTimeoutMs reads a Go-style duration ("5s", "1m30s", "250ms"). [UNDOC] A bare number
 * is seconds, as fly.toml's `kill_timeout` is. The result is capped at MAX_STOP_TIMEOUT_MS.
 */
export function parseStopTimeoutMs(value: string): number {
  const text = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1_000;
  } else {
    ms = 0;
    DURATION_PART.lastIndex = 0;
    let matched = 0;
    for (let part = DURATION_PART.exec(text); part !== null; part = DURATION_PART.exec(text)) {
      ms += Number(part[1]) * DURATION_UNIT_MS[part[2]];
      matched = DURATION_PART.lastIndex;
    }
    if (text === '' || matched !== text.length) throw new RangeError(`Invalid stop timeout "${value}"`);
  }
  return Math.min(MAX_STOP_TIMEOUT_MS, Math.round(ms));
}

/**
 * stopSettings resolves a machine's stop: explicit options first, then `stop_config`, then the
 * defaults. Throws RangeError for a bad value.
 */
export function stopSettings(
  config: Pick<MachineConfig, 'stop_config'>,
  options: { signal?: string; timeoutMs?: number } = {},
): StopSettings {
  const signal = parseStopSignal(options.signal ?? config.stop_config.signal ?? DEFAULT_STOP_SIGNAL);
  let timeoutMs = DEFAULT_STOP_TIMEOUT_MS;
  if (options.timeoutMs !== undefined) {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs < 0) {
      throw new RangeError(`Invalid stop timeout ${options.timeoutMs} ms`);
    }
    timeoutMs = Math.min(MAX_STOP_TIMEOUT_MS, options.timeoutMs);
  } else if (config.stop_config.timeout !== undefined) {
    timeoutMs = parseStopTimeoutMs(config.stop_config.timeout);
  }
  return { signal, timeoutMs };
}
