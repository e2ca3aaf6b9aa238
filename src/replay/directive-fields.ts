/**
 * Value checks shared by the header and JSON forms of a replay directive (spec §1.2, §2, §5.1).
 * Each check takes the raw value and the field name or JSON path to blame, and returns the
 * normalised value or throws ReplayParseError. docs/replay.md lists the same rules.
 */
import type { ReplayDirective } from './directive.ts';
import { DurationError, parseDurationMs } from './duration.ts';
import { ReplayParseError } from './replay-parse-error.ts';

/** REPLAY_STATE_MAX_CHARS bounds `state`: it is echoed into `fly-replay-src` (spec §6.1). */
export const REPLAY_STATE_MAX_CHARS = 2048;
/** REPLAY_TIMEOUT_MAX_MS bounds `timeout`; far past any wake, and below setTimeout's 2^31 ms. */
export const REPLAY_TIMEOUT_MAX_MS = 600_000;
/** REPLAY_REGION_LIST_MAX_ENTRIES bounds a `region` list. */
export const REPLAY_REGION_LIST_MAX_ENTRIES = 64;
/** REPLAY_PATH_MAX_CHARS bounds `transform.path`. */
export const REPLAY_PATH_MAX_CHARS = 8192;
/** REPLAY_HEADER_VALUE_MAX_CHARS bounds one `transform.set_headers` value. */
export const REPLAY_HEADER_VALUE_MAX_CHARS = 8192;
/** REPLAY_HEADER_NAME_MAX_CHARS bounds a header name in a transform. */
export const REPLAY_HEADER_NAME_MAX_CHARS = 256;
/** REPLAY_CACHE_PREFIX_MAX_CHARS bounds a cache pattern (spec §5.1). */
export const REPLAY_CACHE_PREFIX_MAX_CHARS = 2048;
/** REPLAY_CACHE_TTL_MAX_SECONDS caps a cache TTL at a year, so expiry maths stays exact. */
export const REPLAY_CACHE_TTL_MAX_SECONDS = 31_536_000;

const REGION_TOKEN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
// Fly Machine IDs are 14 hex characters, but Fly's own docs show `instance=00bb33ff` and
// Ricochet configs may give machines their own ids, so any short id-like token is accepted.
const MACHINE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
// RFC 9110 §5.6.2 token.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII and spaces: what a Node request header can carry without re-encoding.
const HEADER_TEXT = /^[\x20-\x7e]*$/;
const PATH_TEXT = /^[\x21-\x7e]+$/;
const HOST_PATTERN = /^[A-Za-z0-9*]([A-Za-z0-9*.-]*[A-Za-z0-9])?$/;

// Hop-by-hop fields (RFC 9110 §7.6.1) describe one connection and are the proxy's to manage;
// Content-Length frames the body the proxy replays, so a wrong one is request smuggling.
const PROTECTED_SET_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

function fail(message: string, field: string | null, cause?: unknown): never {
  throw new ReplayParseError(`Cannot follow fly-replay: ${message}`, field, { cause });
}

/** checkRegionList splits a region value (`iad` or `iad,ord,us,na`) into lower-case codes. */
export function checkRegionList(value: string, field: string): string[] {
  const entries = value.split(',').map((entry) => entry.trim().toLowerCase());
  if (entries.length > REPLAY_REGION_LIST_MAX_ENTRIES) {
    fail(`"${field}" lists more than ${REPLAY_REGION_LIST_MAX_ENTRIES} regions`, field);
  }
  for (const entry of entries) {
    if (entry === '') fail(`"${field}" has an empty entry in "${value}"`, field);
    if (!REGION_TOKEN.test(entry)) fail(`"${field}" has an invalid region code "${entry}"`, field);
  }
  return entries;
}

/** checkMachineId accepts a Machine ID for `instance` and `prefer_instance`. */
export function checkMachineId(value: string, field: string): string {
  if (!MACHINE_ID.test(value)) fail(`"${field}" is not a machine id: "${value}"`, field);
  return value;
}

/** checkAppName accepts an app name for `app`. */
export function checkAppName(value: string, field: string): string {
  if (!APP_NAME.test(value)) fail(`"${field}" is not an app name: "${value}"`, field);
  return value;
}

/**
 * checkState accepts `state`. It is echoed verbatim as the last field of `fly-replay-src`
 * (spec §6.1), so it may not hold `;` (the field separator), characters a header can't carry, or
 * surrounding whitespace (RFC 9110 §5.5: not part of a field value, so it would not arrive).
 */
export function checkState(value: string, field: string): string {
  if (value.length > REPLAY_STATE_MAX_CHARS) {
    fail(`"${field}" is longer than ${REPLAY_STATE_MAX_CHARS} characters`, field);
  }
  if (!HEADER_TEXT.test(value)) fail(`"${field}" may hold only visible ASCII and spaces`, field);
  if (value.includes(';')) fail(`"${field}" may not contain ";"`, field);
  if (value.trim() !== value) fail(`"${field}" may not start or end with whitespace`, field);
  if (value === '') fail(`"${field}" is empty`, field);
  return value;
}

/** checkTimeout reads `timeout` (spec §3.1) into milliseconds, above 0 and at most the cap. */
export function checkTimeout(value: string, field: string): number {
  let ms: number;
  try {
    ms = parseDurationMs(value);
  } catch (error) {
    if (error instanceof DurationError) fail(`"${field}": ${error.message}`, field, error);
    throw error;
  }
  if (ms <= 0) fail(`"${field}" must be longer than zero`, field);
  if (ms > REPLAY_TIMEOUT_MAX_MS) fail(`"${field}" is longer than ${REPLAY_TIMEOUT_MAX_MS} ms`, field);
  return ms;
}

/** checkFallback reads `fallback` (spec §3.3); case-insensitive. */
export function checkFallback(value: string, field: string): 'force_self' | 'prefer_self' {
  const lower = value.toLowerCase();
  if (lower === 'force_self' || lower === 'prefer_self') return lower;
  return fail(`"${field}" must be force_self or prefer_self, not "${value}"`, field);
}

/** checkBooleanText reads `true`/`false` (case-insensitive) for the header form of `elsewhere`. */
export function checkBooleanText(value: string, field: string): boolean {
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return fail(`"${field}" must be true or false, not "${value}"`, field);
}

/** checkHeaderName accepts an RFC 9110 field name and returns it in lower case. */
export function checkHeaderName(value: string, field: string): string {
  if (value.length > REPLAY_HEADER_NAME_MAX_CHARS || !HEADER_NAME.test(value)) {
    fail(`"${field}" is not a valid header name: "${value.slice(0, 64)}"`, field);
  }
  return value.toLowerCase();
}

/**
 * checkSetHeaderName also refuses names a transform may not set (spec §2): hop-by-hop fields and
 * Content-Length (see PROTECTED_SET_HEADERS), and the `fly-replay*` family, which carries the
 * proxy's own facts to the target. `fly-replay-src` is what a target checks a pre-shared `state`
 * against (spec §6.1), so letting an app forge it would defeat that check.
 */
export function checkSetHeaderName(value: string, field: string): string {
  const name = checkHeaderName(value, field);
  if (PROTECTED_SET_HEADERS.has(name)) fail(`"${field}": a transform may not set "${name}"`, field);
  if (name.startsWith('fly-replay')) fail(`"${field}": a transform may not set "${name}"`, field);
  return name;
}

/** checkHeaderValue accepts a header value: visible ASCII and spaces, no surrounding whitespace. */
export function checkHeaderValue(value: string, field: string): string {
  if (value.length > REPLAY_HEADER_VALUE_MAX_CHARS) {
    fail(`"${field}" is longer than ${REPLAY_HEADER_VALUE_MAX_CHARS} characters`, field);
  }
  if (!HEADER_TEXT.test(value)) fail(`"${field}" may hold only visible ASCII and spaces`, field);
  if (value.trim() !== value) fail(`"${field}" may not start or end with whitespace`, field);
  return value;
}

/**
 * checkTransformPath accepts `transform.path` (spec §2): an origin-form target, path plus an
 * optional query. It must start with one `/` (`//host/x` would read as a network path to some
 * URL parsers) and may not carry a fragment, spaces or non-ASCII.
 */
export function checkTransformPath(value: string, field: string): string {
  if (value.length > REPLAY_PATH_MAX_CHARS) {
    fail(`"${field}" is longer than ${REPLAY_PATH_MAX_CHARS} characters`, field);
  }
  if (!value.startsWith('/')) fail(`"${field}" must start with "/"`, field);
  if (value.startsWith('//')) fail(`"${field}" may not start with "//"`, field);
  if (!PATH_TEXT.test(value)) fail(`"${field}" may hold only visible ASCII`, field);
  if (value.includes('#')) fail(`"${field}" may not contain a fragment`, field);
  return value;
}

/**
 * checkCachePrefix accepts a path-based cache pattern (spec §5.1): `/path/*` or `host/path/*`,
 * with no scheme and no port. Whether it matches the request is the cache's check.
 */
export function checkCachePrefix(value: string, field: string): string {
  if (value.length > REPLAY_CACHE_PREFIX_MAX_CHARS) {
    fail(`"${field}" is longer than ${REPLAY_CACHE_PREFIX_MAX_CHARS} characters`, field);
  }
  if (!PATH_TEXT.test(value)) fail(`"${field}" may hold only visible ASCII, without spaces`, field);
  if (value.includes('://')) fail(`"${field}" may not have a scheme`, field);
  if (!value.startsWith('/')) {
    const slash = value.indexOf('/');
    const host = slash === -1 ? value : value.slice(0, slash);
    if (host.includes(':')) fail(`"${field}": the host may not have a port`, field);
    if (!HOST_PATTERN.test(host)) fail(`"${field}" has an invalid host "${host}"`, field);
  }
  return value;
}

/** checkTtlSeconds accepts a cache TTL: a whole number of seconds, 0 to a year. */
export function checkTtlSeconds(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    fail(`"${field}" must be a whole number of seconds`, field);
  }
  if (value > REPLAY_CACHE_TTL_MAX_SECONDS) {
    fail(`"${field}" is longer than ${REPLAY_CACHE_TTL_MAX_SECONDS} seconds`, field);
  }
  return value;
}

/** emptyDirective is a directive with every field unset. */
export function emptyDirective(): ReplayDirective {
  return {
    app: null,
    regions: null,
    instance: null,
    preferInstance: null,
    state: null,
    elsewhere: false,
    timeoutMs: null,
    fallback: null,
    transform: null,
    cache: null,
  };
}

/**
 * checkCombination refuses field sets that contradict each other whatever the catalog says
 * (spec §1.3.4). Combinations only the catalog can judge (an `instance` outside `app` or
 * `region`, `elsewhere` with `instance`) are left to the replay planner.
 */
export function checkCombination(directive: ReplayDirective): ReplayDirective {
  if (directive.instance !== null && directive.preferInstance !== null) {
    fail('"instance" and "prefer_instance" contradict each other', 'prefer_instance');
  }
  const cache = directive.cache;
  if (cache?.invalidate && (cache.prefix !== null || cache.ttlSeconds !== null || cache.allowBypass)) {
    fail('a cache invalidation cannot also set a cache prefix, TTL or bypass', 'cache');
  }
  return directive;
}
