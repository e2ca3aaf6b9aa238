/**
 * The `fly-replay-cache*` response headers (spec §5.1, §5.3): what a router sends next to its
 * `fly-replay` so that the proxy remembers the decision, and the rules a cached replay must keep
 * (spec §5.4). Patterns and TTLs are checked with the proxy's own functions.
 */
import { REPLAY_CACHE_TTL_MAX_SECONDS, checkCachePrefix } from '../replay/directive-fields.ts';
import { checkCacheTtl, isCacheRejection, parseCachePattern } from '../replay/cache-pattern.ts';
import { optionError, typeError } from './option-error.ts';
import { RicochetSdkError } from './sdk-error.ts';

export { REPLAY_CACHE_MIN_TTL_SECONDS } from '../replay/cache-pattern.ts';

/** ReplayCacheOptions asks the proxy to cache a replay decision (spec §5.1). */
export interface ReplayCacheOptions {
  /** `/path/*` or `host/path/*`; implicitly ends in `/*`; a host has no port. Must match the request. */
  pattern: string;
  /** How long the decision holds: whole seconds, at least 10. */
  ttlSeconds: number;
  /** Let clients skip the entry with `fly-replay-cache-control: skip` (spec §5.3). Default false. */
  allowBypass?: boolean;
}

/** CheckedCache is a ReplayCacheOptions that passed the checks. */
export interface CheckedCache {
  pattern: string;
  ttlSeconds: number;
  allowBypass: boolean;
}

const HEADER = 'fly-replay-cache';
const CODE = 'INVALID_REPLAY_CACHE';
const CACHE_KEYS: ReadonlySet<string> = new Set(['pattern', 'ttlSeconds', 'allowBypass']);

/** checkCacheOptions validates a ReplayCacheOptions; `field` prefixes the names in errors. */
export function checkCacheOptions(cache: ReplayCacheOptions, field = 'cache'): CheckedCache {
  if (typeof cache !== 'object' || cache === null) throw typeError(CODE, HEADER, field, 'an object', cache);
  for (const key of Object.keys(cache)) {
    if (!CACHE_KEYS.has(key)) throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: unknown option "${field}.${key}"`, { field: `${field}.${key}` });
  }
  const { pattern, ttlSeconds, allowBypass } = cache;
  if (typeof pattern !== 'string') throw typeError(CODE, HEADER, `${field}.pattern`, 'a string', pattern);
  try {
    checkCachePrefix(pattern, `${field}.pattern`);
  } catch (error) {
    throw optionError(error, CODE, HEADER);
  }
  const parsed = parseCachePattern(pattern);
  if (isCacheRejection(parsed)) {
    throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: ${parsed.detail}`, { field: `${field}.pattern` });
  }
  if (typeof ttlSeconds !== 'number') throw typeError(CODE, HEADER, `${field}.ttlSeconds`, 'a number', ttlSeconds);
  const ttlRejection = checkCacheTtl(ttlSeconds);
  if (ttlRejection !== null) {
    throw new RicochetSdkError(CODE, `Cannot write ${HEADER}-ttl-secs: ${ttlRejection.detail}`, { field: `${field}.ttlSeconds` });
  }
  if (ttlSeconds > REPLAY_CACHE_TTL_MAX_SECONDS) {
    throw new RicochetSdkError(CODE, `Cannot write ${HEADER}-ttl-secs: ${ttlSeconds}s is over the maximum of ${REPLAY_CACHE_TTL_MAX_SECONDS}s`, {
      field: `${field}.ttlSeconds`,
    });
  }
  if (allowBypass !== undefined && typeof allowBypass !== 'boolean') {
    throw typeError(CODE, HEADER, `${field}.allowBypass`, 'a boolean', allowBypass);
  }
  return { pattern: pattern.trim(), ttlSeconds, allowBypass: allowBypass ?? false };
}

/**
 * replayCacheHeaders returns the headers that ask the proxy to cache the replay sent with them:
 * `fly-replay-cache`, `fly-replay-cache-ttl-secs` and, when allowed, `fly-replay-cache-allow-bypass`.
 */
export function replayCacheHeaders(cache: ReplayCacheOptions): Record<string, string> {
  const checked = checkCacheOptions(cache);
  const headers: Record<string, string> = {
    'fly-replay-cache': checked.pattern,
    'fly-replay-cache-ttl-secs': String(checked.ttlSeconds),
  };
  if (checked.allowBypass) headers['fly-replay-cache-allow-bypass'] = 'yes';
  return headers;
}

/**
 * hostCachePattern builds the pattern that covers one host under `path` (default: the whole
 * host), from a Host header value: the port is dropped (spec §5.1: a pattern's host has no port)
 * and the name lower-cased. `hostCachePattern('Acme.example.com:8080')` is `acme.example.com/*`.
 */
export function hostCachePattern(host: string, path = '/'): string {
  if (typeof host !== 'string') throw typeError(CODE, HEADER, 'host', 'a string', host);
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: "path" must start with "/"`, { field: 'path' });
  }
  const text = host.trim().toLowerCase();
  const name = text.startsWith('[') ? text.slice(0, text.indexOf(']') + 1) : text.replace(/:\d*$/, '');
  const prefix = path.endsWith('/*') ? path.slice(0, -2) : path.replace(/\/+$/, '');
  const pattern = `${name}${prefix}/*`;
  const parsed = parseCachePattern(pattern);
  if (name === '' || isCacheRejection(parsed)) {
    const detail = isCacheRejection(parsed) ? parsed.detail : 'the host is empty';
    throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: ${detail}`, { field: 'host' });
  }
  return pattern;
}

/** CacheableFields are the parts of a replay that spec §5.4 forbids in a cached replay. */
export interface CacheableFields {
  state?: unknown;
  timeout?: unknown;
  fallback?: unknown;
  transform?: unknown;
}

/**
 * checkCacheable throws when a replay that asks to be cached carries `state`, `timeout`,
 * `fallback` or a `transform` (spec §5.4): the proxy would refuse to cache it, silently.
 */
export function checkCacheable(fields: CacheableFields): void {
  for (const name of ['state', 'timeout', 'fallback', 'transform'] as const) {
    if (fields[name] !== undefined) {
      throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: a cached replay may not have "${name}" (spec §5.4)`, { field: name });
    }
  }
}
