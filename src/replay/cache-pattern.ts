/**
 * Replay cache patterns (spec §5.1, §5.2): `/some/path/*` or `host/some/path/*`, implicitly
 * ending in `/*`, so `/api`, `/api/` and `/api/*` are the same pattern. Pure functions.
 */

/** REPLAY_CACHE_MIN_TTL_SECONDS is the shortest TTL a replay cache entry may have (spec §5.1, §5.2). */
export const REPLAY_CACHE_MIN_TTL_SECONDS = 10;

/** CacheRejectionRule names the rule a cache instruction broke, for the log line. */
export type CacheRejectionRule =
  | 'pattern-empty'
  | 'pattern-scheme'
  | 'pattern-host-port'
  | 'pattern-host-invalid'
  | 'pattern-path-invalid'
  | 'pattern-wildcard'
  | 'pattern-not-matching'
  | 'request-path-uncacheable'
  | 'ttl-invalid'
  | 'ttl-missing'
  | 'ttl-below-minimum'
  | 'rule-type-invalid'
  | 'rule-name-invalid';

/** CacheRejection is why a cache instruction was refused: a value, never thrown. */
export interface CacheRejection {
  rejected: true;
  rule: CacheRejectionRule;
  /** detail says what was wrong, in words, for the log line. */
  detail: string;
}

/** CachePattern is a parsed pattern: `host` is null when the pattern names none. */
export interface CachePattern {
  host: string | null;
  /** prefix is the canonical path prefix: `/api` for `/api/*`, `/` for `/*`; never ends in `/` otherwise. */
  prefix: string;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const REG_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
const IPV6_LITERAL = /^\[[0-9a-f:.]+\]$/;
const HOST_MAX_LENGTH = 253;
// Characters that never belong in a cacheable path: controls, space, backslash, query, fragment.
const UNSAFE_PATH_CHARS = /[\x00-\x20\x7f\\?#]|%2f|%5c/i;
const ENCODED_DOT = /%2e/gi;

/** cacheRejection builds a CacheRejection. */
export function cacheRejection(rule: CacheRejectionRule, detail: string): CacheRejection {
  return { rejected: true, rule, detail };
}

/** isCacheRejection tells a CacheRejection from a value. */
export function isCacheRejection(value: unknown): value is CacheRejection {
  return typeof value === 'object' && value !== null && (value as CacheRejection).rejected === true;
}

/**
 * isCacheablePath says whether a request path may be matched against the cache at all. Paths with
 * dot segments (also percent-encoded), encoded slashes or backslashes are never cacheable: an
 * upstream that normalises `/public/../admin` would otherwise receive a request routed by the
 * decision made for `/public`. A refusal only costs a trip to the origin app (spec §5: caching is
 * an optimisation).
 */
export function isCacheablePath(path: string): boolean {
  if (!path.startsWith('/') || UNSAFE_PATH_CHARS.test(path)) return false;
  // Most paths have no dot at all, plain or encoded: no segment can be `.` or `..`.
  if (!path.includes('.') && !path.includes('%')) return true;
  for (const segment of path.replace(ENCODED_DOT, '.').split('/')) {
    if (segment === '.' || segment === '..') return false;
  }
  return true;
}

/** prefixMatches says whether a canonical prefix covers a path: `/api` covers `/api` and `/api/x`, not `/apix`. */
export function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return path.startsWith('/');
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f);
}

/**
 * canonicalPrefix turns a pattern path into its canonical prefix (spec §5.1: implicit `/*`), or
 * null when it carries a wildcard anywhere but in a trailing `/*`.
 */
export function canonicalPrefix(path: string): string | null {
  let prefix = path.endsWith('/*') ? path.slice(0, -1) : path;
  if (prefix.includes('*')) return null;
  while (prefix.length > 1 && prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  return prefix;
}

/** parsePatternHost checks the host part of a pattern (spec §5.1: no port). */
function parsePatternHost(raw: string): string | CacheRejection {
  const host = raw.toLowerCase();
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close !== -1 && host.charAt(close + 1) === ':') {
      return cacheRejection('pattern-host-port', `host "${raw}" includes a port`);
    }
    if (IPV6_LITERAL.test(host)) return host;
    return cacheRejection('pattern-host-invalid', `host "${raw}" is not a valid host name`);
  }
  if (host.includes(':')) return cacheRejection('pattern-host-port', `host "${raw}" includes a port`);
  if (host.length > HOST_MAX_LENGTH || !REG_NAME.test(host)) {
    return cacheRejection('pattern-host-invalid', `host "${raw}" is not a valid host name`);
  }
  return host;
}

/**
 * parseCachePattern parses a `fly-replay-cache` pattern or a session rule's `path_prefix`
 * (spec §5.1, §5.2). A pattern that starts with `/` has no host; otherwise everything before the
 * first `/` is the host, and a bare host means the whole host (`example.com` = `example.com/*`).
 */
export function parseCachePattern(pattern: string): CachePattern | CacheRejection {
  const text = pattern.trim();
  if (text === '') return cacheRejection('pattern-empty', 'the pattern is empty');
  if (SCHEME.test(text)) {
    return cacheRejection('pattern-scheme', `pattern "${text}" includes a scheme`);
  }
  let host: string | null = null;
  let path = text;
  if (!text.startsWith('/')) {
    const slash = text.indexOf('/');
    const parsedHost = parsePatternHost(slash === -1 ? text : text.slice(0, slash));
    if (isCacheRejection(parsedHost)) return parsedHost;
    host = parsedHost;
    path = slash === -1 ? '/' : text.slice(slash);
  }
  const prefix = canonicalPrefix(path);
  if (prefix === null) {
    return cacheRejection('pattern-wildcard', `pattern "${text}" has a wildcard other than a trailing "/*"`);
  }
  if (!isCacheablePath(prefix)) {
    return cacheRejection('pattern-path-invalid', `pattern "${text}" has an invalid path`);
  }
  return { host, prefix };
}

/**
 * matchesPattern says whether a pattern covers a request (spec §5.1): a host-less pattern covers
 * any host, a pattern with a host only that host; the path must lie under the prefix. An invalid
 * pattern matches nothing.
 */
export function matchesPattern(pattern: string, host: string, path: string): boolean {
  const parsed = parseCachePattern(pattern);
  if (isCacheRejection(parsed) || !isCacheablePath(path)) return false;
  if (parsed.host !== null && parsed.host !== host.toLowerCase()) return false;
  return prefixMatches(parsed.prefix, path);
}

/** checkCacheTtl checks a TTL in seconds: a whole number, at least the minimum (spec §5.1). */
export function checkCacheTtl(ttlSeconds: number): CacheRejection | null {
  if (!Number.isSafeInteger(ttlSeconds)) {
    return cacheRejection('ttl-invalid', `TTL ${ttlSeconds} is not a whole number of seconds`);
  }
  if (ttlSeconds < REPLAY_CACHE_MIN_TTL_SECONDS) {
    return cacheRejection(
      'ttl-below-minimum',
      `TTL ${ttlSeconds}s is below the minimum of ${REPLAY_CACHE_MIN_TTL_SECONDS}s`,
    );
  }
  return null;
}
