/**
 * replay writes the value of a `fly-replay` response header (spec §1.1, §1.2): fields in a fixed
 * order, separated by `;` with no spaces, a region list quoted. Every value is checked with the
 * proxy's own field checks (src/replay/directive-fields.ts), so what the SDK writes is exactly
 * what Ricochet reads, and a mistake throws here instead of becoming a PA03 at request time.
 */
import {
  checkAppName,
  checkFallback,
  checkMachineId,
  checkRegionList,
  checkState,
  checkTimeout,
} from '../replay/directive-fields.ts';
import { checkCacheable, replayCacheHeaders, type ReplayCacheOptions } from './replay-cache.ts';
import { optionError, typeError } from './option-error.ts';
import { RicochetSdkError } from './sdk-error.ts';

/** ReplayOptions are the fields of a replay (spec §1.2); give at least one. */
export interface ReplayOptions {
  /** Another app to replay to (default: the app that answered). */
  app?: string;
  /** A region, an alias (`us`, `eu`, `any` …), or a list in order of preference. */
  region?: string | readonly string[];
  /** Exactly this machine. */
  instance?: string;
  /** This machine if it can take the request, else any other that matches (spec §1.5). */
  preferInstance?: string;
  /** Echoed to the target in `fly-replay-src` as `state=` (spec §6.1). No `;`, visible ASCII. */
  state?: string;
  /** Not the machine that answered. */
  elsewhere?: boolean;
  /** How long to try the target: a duration such as `"10s"` or `"800ms"`, or milliseconds (spec §3). */
  timeout?: string | number;
  /** Where the request goes when the target can't be reached (spec §3). */
  fallback?: 'force_self' | 'prefer_self';
}

/** CheckedReplay is a ReplayOptions that passed the checks, in the proxy's terms. */
export interface CheckedReplay {
  app: string | null;
  regions: string[] | null;
  instance: string | null;
  preferInstance: string | null;
  state: string | null;
  elsewhere: boolean;
  timeout: string | null;
  fallback: 'force_self' | 'prefer_self' | null;
}

const HEADER = 'fly-replay';
const CODE = 'INVALID_REPLAY_OPTION';
const OPTION_KEYS: ReadonlySet<string> = new Set(['app', 'region', 'instance', 'preferInstance', 'state', 'elsewhere', 'timeout', 'fallback']);

function optionalString(options: Record<string, unknown>, key: string): string | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw typeError(CODE, HEADER, key, 'a string', value);
  if (value === '') throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: "${key}" is empty`, { field: key });
  return value;
}

function readRegions(region: unknown): string[] | null {
  if (region === undefined) return null;
  if (typeof region === 'string') return checkRegionList(region, 'region');
  if (!Array.isArray(region) || region.length === 0 || !region.every((entry) => typeof entry === 'string')) {
    throw typeError(CODE, HEADER, 'region', 'a string or a non-empty list of strings', region);
  }
  return checkRegionList(region.join(','), 'region');
}

function readTimeout(timeout: unknown): string | null {
  if (timeout === undefined) return null;
  if (typeof timeout === 'number') {
    if (!Number.isFinite(timeout)) throw typeError(CODE, HEADER, 'timeout', 'a finite number of milliseconds', timeout);
    const text = `${timeout}ms`;
    checkTimeout(text, 'timeout');
    return text;
  }
  if (typeof timeout !== 'string') throw typeError(CODE, HEADER, 'timeout', 'a duration string or milliseconds', timeout);
  checkTimeout(timeout, 'timeout');
  return timeout;
}

/** checkReplayOptions validates ReplayOptions; the JSON form (replay-response.ts) shares it. */
export function checkReplayOptions(options: ReplayOptions): CheckedReplay {
  if (typeof options !== 'object' || options === null) throw typeError(CODE, HEADER, 'options', 'an object', options);
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!OPTION_KEYS.has(key)) throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: unknown option "${key}"`, { field: key });
  }
  if (options.elsewhere !== undefined && typeof options.elsewhere !== 'boolean') {
    throw typeError(CODE, HEADER, 'elsewhere', 'a boolean', options.elsewhere);
  }
  try {
    const app = optionalString(record, 'app');
    const instance = optionalString(record, 'instance');
    const preferInstance = optionalString(record, 'preferInstance');
    const state = optionalString(record, 'state');
    const fallback = optionalString(record, 'fallback');
    const checked: CheckedReplay = {
      app: app === undefined ? null : checkAppName(app, 'app'),
      regions: readRegions(options.region),
      instance: instance === undefined ? null : checkMachineId(instance, 'instance'),
      preferInstance: preferInstance === undefined ? null : checkMachineId(preferInstance, 'preferInstance'),
      state: state === undefined ? null : checkState(state, 'state'),
      elsewhere: options.elsewhere ?? false,
      timeout: readTimeout(options.timeout),
      fallback: fallback === undefined ? null : checkFallback(fallback, 'fallback'),
    };
    if (checked.instance !== null && checked.preferInstance !== null) {
      throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: "instance" and "preferInstance" contradict each other`, { field: 'preferInstance' });
    }
    return checked;
  } catch (error) {
    throw optionError(error, CODE, HEADER);
  }
}

/**
 * quote writes a value as a quoted string (RFC 9110 §5.6.4) when it has a character that would
 * otherwise end it or start a new field: `,` (spec §1.1: a `,` may separate fields), `"` or `\`.
 */
function quote(value: string): string {
  return /[,"\\]/.test(value) ? `"${value.replace(/["\\]/g, '\\$&')}"` : value;
}

/** formatReplay writes checked fields in the order of spec §1.2's table. */
export function formatReplay(checked: CheckedReplay): string {
  const parts: string[] = [];
  if (checked.app !== null) parts.push(`app=${checked.app}`);
  if (checked.regions !== null) parts.push(`region=${quote(checked.regions.join(','))}`);
  if (checked.instance !== null) parts.push(`instance=${checked.instance}`);
  if (checked.preferInstance !== null) parts.push(`prefer_instance=${checked.preferInstance}`);
  if (checked.state !== null) parts.push(`state=${quote(checked.state)}`);
  if (checked.elsewhere) parts.push('elsewhere=true');
  if (checked.timeout !== null) parts.push(`timeout=${checked.timeout}`);
  if (checked.fallback !== null) parts.push(`fallback=${checked.fallback}`);
  return parts.join(';');
}

/**
 * replay returns the `fly-replay` header value for `options`, e.g.
 * `replay({ app: 'user-42', instance: '3d8d413b29d089', state: key })` is
 * `app=user-42;instance=3d8d413b29d089;state=…`. Throws RicochetSdkError
 * (`INVALID_REPLAY_OPTION`) for a value the proxy would refuse, or for no field at all.
 */
export function replay(options: ReplayOptions): string {
  const value = formatReplay(checkReplayOptions(options));
  if (value === '') {
    throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: give at least one field (app, region, instance …)`, { field: null });
  }
  return value;
}

/**
 * replayHeaders returns the response headers of a replay: `fly-replay`, and with `cache` the
 * `fly-replay-cache*` headers that make the proxy remember it (spec §5.1). A cached replay may
 * not carry `state`, `timeout` or `fallback` (spec §5.4): that throws `INVALID_REPLAY_CACHE`.
 */
export function replayHeaders(options: ReplayOptions, extra: { cache?: ReplayCacheOptions } = {}): Record<string, string> {
  const headers: Record<string, string> = { 'fly-replay': replay(options) };
  if (extra.cache === undefined) return headers;
  checkCacheable(options);
  return { ...headers, ...replayCacheHeaders(extra.cache) };
}

/**
 * invalidateReplayCacheHeaders returns what a replay *target* answers to drop the cached decision
 * that sent the request to it (spec §5.3): a replay back to the origin (`options`, usually
 * `{ app: 'router' }`) with `fly-replay-cache: invalidate`. The origin then decides afresh.
 */
export function invalidateReplayCacheHeaders(options: ReplayOptions): Record<string, string> {
  return { 'fly-replay': replay(options), 'fly-replay-cache': 'invalidate' };
}
