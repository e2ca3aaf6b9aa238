/**
 * The replay directive: what an app asks for when it answers with `fly-replay` (spec §1), a
 * replay JSON body (spec §2) and the `fly-replay-cache*` headers (spec §5.1, §5.3). This module
 * and the ones it re-exports are pure: strings in, a ReplayDirective or a ReplayParseError out.
 * docs/replay.md states every parsing rule; the [UNDOC] choices are in docs/decisions.md.
 */
import {
  checkAppName,
  checkBooleanText,
  checkCachePrefix,
  checkCombination,
  checkFallback,
  checkMachineId,
  checkRegionList,
  checkState,
  checkTimeout,
  checkTtlSeconds,
  emptyDirective,
} from './directive-fields.ts';
import { splitReplayHeader } from './directive-header.ts';
import { ReplayParseError } from './replay-parse-error.ts';

export { ReplayParseError } from './replay-parse-error.ts';
export { parseReplayJson, REPLAY_JSON_MAX_BYTES, REPLAY_TRANSFORM_MAX_HEADERS } from './directive-json.ts';
export {
  REPLAY_CACHE_PREFIX_MAX_CHARS,
  REPLAY_CACHE_TTL_MAX_SECONDS,
  REPLAY_PATH_MAX_CHARS,
  REPLAY_REGION_LIST_MAX_ENTRIES,
  REPLAY_STATE_MAX_CHARS,
  REPLAY_TIMEOUT_MAX_MS,
} from './directive-fields.ts';

/** ReplayTransform rewrites the request before it is replayed (spec §2, JSON form only). */
export interface ReplayTransform {
  /** New path and query, starting with `/`; null keeps the original. */
  path: string | null;
  /** Lower-case request header names to remove; applied before setHeaders. */
  deleteHeaders: string[];
  /** Headers to set, overwriting any of the same name; names lower-case and distinct. */
  setHeaders: { name: string; value: string }[];
}

/** ReplayCacheDirective asks the proxy to cache or invalidate this replay (spec §5.1, §5.3). */
export interface ReplayCacheDirective {
  /** Path-based cache pattern (`/path/*` or `host/path/*`), as sent. */
  prefix: string | null;
  ttlSeconds: number | null;
  /** Whether clients may skip the entry with `fly-replay-cache-control: skip`. */
  allowBypass: boolean;
  /** Invalidate the cache entry for the current route instead of creating one. */
  invalidate: boolean;
}

/** ReplayDirective is one parsed replay request; null means the field was not given. */
export interface ReplayDirective {
  app: string | null;
  /** Region codes and aliases in order of preference, lower case; RegionTable expands them. */
  regions: string[] | null;
  instance: string | null;
  preferInstance: string | null;
  state: string | null;
  elsewhere: boolean;
  timeoutMs: number | null;
  fallback: 'force_self' | 'prefer_self' | null;
  transform: ReplayTransform | null;
  cache: ReplayCacheDirective | null;
}

/** REPLAY_JSON_CONTENT_TYPE marks a response whose body is a replay directive (spec §2). */
export const REPLAY_JSON_CONTENT_TYPE = 'application/vnd.fly.replay+json';
/** REPLAY_HEADER_MAX_CHARS is the longest `fly-replay` value read; longer ones are PA03. */
export const REPLAY_HEADER_MAX_CHARS = 8192;
/** REPLAY_CACHE_MIN_TTL_SECONDS is the shortest TTL a cached replay may ask for (spec §5.1). */
export const REPLAY_CACHE_MIN_TTL_SECONDS = 10;

/**
 * parseReplayHeader reads a `fly-replay` header value (spec §1.1, §1.2). Field names are
 * case-insensitive; an unknown field, a field given twice, an empty value and an empty header
 * are all errors, so that a typo never silently routes somewhere else. See splitReplayHeader
 * for the separators and quoting.
 */
export function parseReplayHeader(value: string): ReplayDirective {
  if (typeof value !== 'string') {
    throw new ReplayParseError('Cannot follow fly-replay: the header value is not a string', null);
  }
  if (value.length > REPLAY_HEADER_MAX_CHARS) {
    throw new ReplayParseError(`Cannot follow fly-replay: longer than ${REPLAY_HEADER_MAX_CHARS} characters`, null);
  }
  const fields = splitReplayHeader(value);
  if (fields.length === 0) throw new ReplayParseError('Cannot follow fly-replay: the header has no fields', null);

  const directive = emptyDirective();
  for (let i = 0; i < fields.length; i++) {
    const { name, value: text } = fields[i];
    for (let j = 0; j < i; j++) {
      if (fields[j].name === name) throw new ReplayParseError(`Cannot follow fly-replay: "${name}" is given twice`, name);
    }
    if (text === '') throw new ReplayParseError(`Cannot follow fly-replay: "${name}" is empty`, name);
    switch (name) {
      case 'region':
        directive.regions = checkRegionList(text, name);
        break;
      case 'instance':
        directive.instance = checkMachineId(text, name);
        break;
      case 'prefer_instance':
        directive.preferInstance = checkMachineId(text, name);
        break;
      case 'app':
        directive.app = checkAppName(text, name);
        break;
      case 'state':
        directive.state = checkState(text, name);
        break;
      case 'elsewhere':
        directive.elsewhere = checkBooleanText(text, name);
        break;
      case 'timeout':
        directive.timeoutMs = checkTimeout(text, name);
        break;
      case 'fallback':
        directive.fallback = checkFallback(text, name);
        break;
      default:
        throw new ReplayParseError(`Cannot follow fly-replay: unknown field "${name}"`, name);
    }
  }
  return checkCombination(directive);
}

/** ReplayCacheHeaders are the `fly-replay-cache*` response headers, undefined when absent. */
export interface ReplayCacheHeaders {
  /** `fly-replay-cache`: a pattern, or `invalidate` (spec §5.3). */
  cache?: string;
  /** `fly-replay-cache-ttl-secs`: whole seconds. */
  ttl?: string;
  /** `fly-replay-cache-allow-bypass`: `yes` (also `true`, `no`, `false`). */
  allowBypass?: string;
}

function cacheHeaderError(message: string, header: string): ReplayParseError {
  return new ReplayParseError(`Cannot follow ${header}: ${message}`, header);
}

/**
 * withCacheHeaders returns `directive` with the `fly-replay-cache*` response headers merged in
 * (spec §5.1, §5.3). `fly-replay-cache: invalidate` (any case) invalidates; any other value is a
 * path-based pattern. A directive that already has a cache part (JSON `cache`) may not be given
 * cache headers too, and an invalidation may not come with a TTL or bypass.
 */
export function withCacheHeaders(directive: ReplayDirective, headers: ReplayCacheHeaders): ReplayDirective {
  const { cache, ttl, allowBypass } = headers;
  if (cache === undefined && ttl === undefined && allowBypass === undefined) return directive;
  if (directive.cache !== null) {
    throw new ReplayParseError('Cannot follow fly-replay-cache: the replay body already has a "cache" part', 'cache');
  }
  const merged: ReplayCacheDirective = { prefix: null, ttlSeconds: null, allowBypass: false, invalidate: false };
  if (cache !== undefined) {
    const text = cache.trim();
    if (text === '') throw cacheHeaderError('the value is empty', 'fly-replay-cache');
    if (text.toLowerCase() === 'invalidate') merged.invalidate = true;
    else merged.prefix = checkCachePrefix(text, 'fly-replay-cache');
  }
  if (ttl !== undefined) {
    const text = ttl.trim();
    if (!/^\d{1,10}$/.test(text)) throw cacheHeaderError(`"${ttl.slice(0, 32)}" is not a whole number of seconds`, 'fly-replay-cache-ttl-secs');
    merged.ttlSeconds = checkTtlSeconds(Number(text), 'fly-replay-cache-ttl-secs');
  }
  if (allowBypass !== undefined) {
    const text = allowBypass.trim().toLowerCase();
    if (text === 'yes' || text === 'true') merged.allowBypass = true;
    else if (text !== 'no' && text !== 'false') {
      throw cacheHeaderError(`"${allowBypass.slice(0, 32)}" is not yes or no`, 'fly-replay-cache-allow-bypass');
    }
  }
  return checkCombination({ ...directive, cache: merged });
}

/** CacheRestriction names a spec §5.4 rule that a directive about to be cached breaks. */
export type CacheRestriction = 'state' | 'transform' | 'timeout' | 'fallback' | 'ttl_below_minimum';

/**
 * cacheRestrictionViolation tells why `directive` may not be cached (spec §5.4: no `state`, no
 * `transform`, no `timeout`, no `fallback`; spec §5.1: a TTL of at least 10 s), or null if it
 * may. Call it when the directive is about to be cached, whether by its own prefix or by a
 * session rule from the service config; a TTL left out is the cache's default, not a violation.
 */
export function cacheRestrictionViolation(directive: ReplayDirective): CacheRestriction | null {
  if (directive.state !== null) return 'state';
  if (directive.transform !== null) return 'transform';
  if (directive.timeoutMs !== null) return 'timeout';
  if (directive.fallback !== null) return 'fallback';
  const ttl = directive.cache?.ttlSeconds ?? null;
  if (ttl !== null && ttl < REPLAY_CACHE_MIN_TTL_SECONDS) return 'ttl_below_minimum';
  return null;
}

/**
 * isReplayJsonContentType tells whether a response Content-Type announces a replay body
 * (spec §2): the media type, case-insensitive, with any parameters (`; charset=utf-8`) ignored.
 */
export function isReplayJsonContentType(contentType: string | undefined): boolean {
  if (typeof contentType !== 'string') return false;
  const semicolon = contentType.indexOf(';');
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return mediaType === REPLAY_JSON_CONTENT_TYPE;
}
