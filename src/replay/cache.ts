/**
 * ReplayCache remembers replay decisions so later requests skip the origin app (spec §5):
 * path-based entries set by a response's `fly-replay-cache` (§5.1) and session-based entries
 * keyed by a cookie or header under the app's `replay_cache` rules (§5.2). One cache per node;
 * bounded, least recently used out first; time comes from an injected clock.
 */

import type { ReplayCacheRule } from '../catalog/types.ts';
import {
  cacheRejection,
  canonicalPrefix,
  checkCacheTtl,
  isCacheablePath,
  isCacheRejection,
  parseCachePattern,
  prefixMatches,
  type CacheRejection,
} from './cache-pattern.ts';
import { pathKey, sessionKey } from './cache-key.ts';
import { PathIndex } from './cache-path-index.ts';
import { readSessionValue, selectSessionRule } from './cache-session-rule.ts';

export {
  REPLAY_CACHE_MIN_TTL_SECONDS,
  isCacheRejection,
  matchesPattern,
  parseCachePattern,
  type CachePattern,
  type CacheRejection,
  type CacheRejectionRule,
} from './cache-pattern.ts';
export { parseSessionRule, type SessionRule } from './cache-session-rule.ts';

/** CachedRoute is the replay decision an entry replays: a small copy of the directive's routing fields. */
export interface CachedRoute {
  app: string | null;
  regions: string[] | null;
  instance: string | null;
  preferInstance: string | null;
  elsewhere: boolean;
}

/** CacheEntry is one cached decision; `lookup` and `list` return frozen copies. */
export interface CacheEntry {
  /** key identifies the entry for `invalidate`; it never contains a session value in clear. */
  key: string;
  kind: 'path' | 'session';
  sourceApp: string;
  host: string;
  /** prefix is canonical: `/api` for `/api/*`, `/` for `/*`. */
  prefix: string;
  route: CachedRoute;
  allowBypass: boolean;
  /** expiresAt and createdAt are clock milliseconds. */
  expiresAt: number;
  createdAt: number;
  hits: number;
}

/** CacheRequest is what the cache reads of a request. */
export interface CacheRequest {
  /** host is lowercase, without port. */
  host: string;
  /** path has no query. */
  path: string;
  /** header returns a header by lowercase name; for cookies, the raw Cookie header. */
  header(name: string): string | undefined;
}

/** CacheStats are the cache's counters since it was created, and its current size. */
export interface CacheStats {
  entries: number;
  hits: number;
  misses: number;
  evictions: number;
  expirations: number;
}

/** CacheFilter selects entries by source app, host, and prefix (entries at or under it). */
export interface CacheFilter {
  app?: string;
  host?: string;
  prefix?: string;
}

/** ReplayCacheOptions configures a ReplayCache; `now` returns milliseconds (default Date.now). */
export interface ReplayCacheOptions {
  maxEntries: number;
  now?: () => number;
}

const MS_PER_SECOND = 1000;

/**
 * wantsBypass says whether the client asked to skip the cache with `fly-replay-cache-control:
 * skip` (spec §4, §5.3). The caller honours it only when `entry.allowBypass` is true, and must
 * read it before client-sent `fly-*` headers are stripped.
 */
export function wantsBypass(req: CacheRequest): boolean {
  const value = req.header('fly-replay-cache-control');
  if (value === undefined) return false;
  return value.split(',').some((token) => token.trim().toLowerCase() === 'skip');
}

/** snapshot is the frozen copy of an entry handed out, so callers cannot change the cache. */
function snapshot(entry: CacheEntry): CacheEntry {
  return Object.freeze({ ...entry });
}

/** freezeRoute copies a route so later changes to the caller's directive cannot reach the cache. */
function freezeRoute(route: CachedRoute): CachedRoute {
  return Object.freeze({
    app: route.app,
    regions: route.regions === null ? null : (Object.freeze([...route.regions]) as string[]),
    instance: route.instance,
    preferInstance: route.preferInstance,
    elsewhere: route.elsewhere,
  });
}

/** nextShorterPrefix walks up one path segment: `/a/b` -> `/a` -> `/`. */
function nextShorterPrefix(candidate: string): string {
  const slash = candidate.lastIndexOf('/');
  return slash <= 0 ? '/' : candidate.slice(0, slash);
}

/**
 * ReplayCache holds path-based and session-based replay decisions for every source app of a node,
 * at most `maxEntries` of them (spec §5.4 leaves size and eviction [UNDOC]: LRU here).
 */
export class ReplayCache {
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** #entries is in least-recently-used-first order: a hit deletes and re-inserts. */
  readonly #entries = new Map<string, CacheEntry>();
  /** #newest is the entry last in #entries' order, when known: a hit on it moves nothing. */
  #newest: CacheEntry | null = null;
  /** #paths finds path entries without building a key per lookup. */
  readonly #paths = new PathIndex<CacheEntry>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #expirations = 0;

  constructor(options: ReplayCacheOptions) {
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(
        `Cannot create a replay cache with maxEntries ${options.maxEntries}: it must be a positive integer`,
      );
    }
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /**
   * lookup finds the entry routing this request for the source app, or null. Path entries and
   * session rules compete on prefix length, longest first (spec §5.2); at equal length the session
   * rule wins. When a session rule wins, only its entry can serve the request: a request without
   * the cookie or header, or without an entry for its value, is a miss even if a shorter path
   * entry exists. Expired entries met on the way are dropped. Counts a hit or a miss (a found
   * entry counts as a hit even if the caller then bypasses it, spec §5.3).
   */
  lookup(sourceApp: string, req: CacheRequest, sessionRules: readonly ReplayCacheRule[]): CacheEntry | null {
    const host = req.host.toLowerCase();
    const path = req.path;
    let found: CacheEntry | undefined;
    if (isCacheablePath(path)) {
      const rule = selectSessionRule(sessionRules, host, path);
      found = this.#lookupPath(sourceApp, host, path, rule === null ? 0 : rule.prefix.length);
      if (found === undefined && rule !== null) {
        const value = readSessionValue(req, rule);
        if (value !== undefined) found = this.#get(sessionKey(sourceApp, host, rule, value));
      }
    }
    if (found === undefined) {
      this.#misses += 1;
      return null;
    }
    this.#hits += 1;
    found.hits += 1;
    return snapshot(found);
  }

  /**
   * storePath stores a path-based entry from `fly-replay-cache: <pattern>` (spec §5.1), scoped to
   * the request's host, replacing any entry with the same key. Returns a CacheRejection when the
   * pattern is invalid, does not match this request, or the TTL is not a whole number >= 10.
   */
  storePath(
    sourceApp: string,
    req: CacheRequest,
    pattern: string,
    ttlSeconds: number,
    allowBypass: boolean,
    route: CachedRoute,
  ): CacheEntry | CacheRejection {
    const parsed = parseCachePattern(pattern);
    if (isCacheRejection(parsed)) return parsed;
    const ttl = checkCacheTtl(ttlSeconds);
    if (ttl !== null) return ttl;
    const host = req.host.toLowerCase();
    if (!isCacheablePath(req.path)) {
      return cacheRejection('request-path-uncacheable', `request path "${req.path}" cannot be cached`);
    }
    if ((parsed.host !== null && parsed.host !== host) || !prefixMatches(parsed.prefix, req.path)) {
      return cacheRejection(
        'pattern-not-matching',
        `pattern "${pattern.trim()}" does not match the request to ${host}${req.path}`,
      );
    }
    return this.#insert({
      key: pathKey(sourceApp, host, parsed.prefix),
      kind: 'path',
      sourceApp,
      host,
      prefix: parsed.prefix,
      route,
      allowBypass,
      ttlSeconds,
    });
  }

  /**
   * storeSession stores a session-based entry (spec §5.2) under the rule that governs the request
   * (longest prefix), keyed by its cookie or header value. Returns null, storing nothing, when no
   * rule applies or the request carries no value for the rule.
   */
  storeSession(
    sourceApp: string,
    req: CacheRequest,
    sessionRules: readonly ReplayCacheRule[],
    route: CachedRoute,
  ): CacheEntry | null {
    const host = req.host.toLowerCase();
    if (!isCacheablePath(req.path)) return null;
    const rule = selectSessionRule(sessionRules, host, req.path);
    if (rule === null) return null;
    const value = readSessionValue(req, rule);
    if (value === undefined) return null;
    return this.#insert({
      key: sessionKey(sourceApp, host, rule, value),
      kind: 'session',
      sourceApp,
      host,
      prefix: rule.prefix,
      route,
      allowBypass: rule.allowBypass,
      ttlSeconds: rule.ttlSeconds,
    });
  }

  /** invalidate removes the entry with this key (spec §5.3); false when there was none. */
  invalidate(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#remove(entry);
    return true;
  }

  /** list returns live entries matching the filter, least recently used first; it drops expired ones. */
  list(filter: CacheFilter = {}): CacheEntry[] {
    this.sweep();
    const matches = this.#matcher(filter);
    const result: CacheEntry[] = [];
    for (const entry of this.#entries.values()) {
      if (matches(entry)) result.push(snapshot(entry));
    }
    return result;
  }

  /** purge removes live entries matching the filter (every entry without one) and returns how many. */
  purge(filter: CacheFilter = {}): number {
    this.sweep();
    const matches = this.#matcher(filter);
    let removed = 0;
    for (const entry of [...this.#entries.values()]) {
      if (!matches(entry)) continue;
      this.#remove(entry);
      removed += 1;
    }
    return removed;
  }

  /**
   * size is how many entries are held, expired ones not yet dropped included: a constant-time
   * check that lets the pipeline skip the lookup while the cache is empty.
   */
  get size(): number {
    return this.#entries.size;
  }

  /** stats returns the counters; it drops expired entries first so `entries` counts live ones. */
  stats(): CacheStats {
    this.sweep();
    return {
      entries: this.#entries.size,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      expirations: this.#expirations,
    };
  }

  /** sweep drops every expired entry, counting each as an expiration, and returns how many. */
  sweep(): number {
    const now = this.#now();
    let dropped = 0;
    for (const entry of [...this.#entries.values()]) {
      if (entry.expiresAt > now) continue;
      this.#remove(entry);
      this.#expirations += 1;
      dropped += 1;
    }
    return dropped;
  }

  /**
   * #lookupPath finds the longest live path entry covering `path` whose prefix is longer than
   * `minLength` characters, walking up one segment at a time: a few map reads, never a scan.
   */
  #lookupPath(sourceApp: string, host: string, path: string, minLength: number): CacheEntry | undefined {
    const byPrefix = this.#paths.prefixes(sourceApp, host);
    if (byPrefix === undefined) return undefined;
    let candidate = path;
    while (candidate.length > minLength) {
      // Canonical prefixes never end in `/` except the root, so `/a/` itself is no candidate.
      if (candidate === '/' || !candidate.endsWith('/')) {
        const entry = byPrefix.get(candidate);
        if (entry !== undefined && this.#live(entry)) return entry;
      }
      if (candidate === '/') break;
      candidate = nextShorterPrefix(candidate);
    }
    return undefined;
  }

  /** #get returns a live entry and marks it most recently used; an expired one is dropped. */
  #get(key: string): CacheEntry | undefined {
    const entry = this.#entries.get(key);
    return entry !== undefined && this.#live(entry) ? entry : undefined;
  }

  /** #live marks `entry` most recently used and says true, or drops it if it expired. */
  #live(entry: CacheEntry): boolean {
    if (entry.expiresAt <= this.#now()) {
      this.#remove(entry);
      this.#expirations += 1;
      return false;
    }
    // A hot entry is usually the newest already: moving it would change nothing but cost two writes.
    if (entry !== this.#newest) {
      this.#entries.delete(entry.key);
      this.#entries.set(entry.key, entry);
      this.#newest = entry;
    }
    return true;
  }

  /** #insert stores a new entry as most recently used, then evicts down to maxEntries. */
  #insert(fields: Omit<CacheEntry, 'expiresAt' | 'createdAt' | 'hits'> & { ttlSeconds: number }): CacheEntry {
    const { ttlSeconds, ...rest } = fields;
    const previous = this.#entries.get(rest.key);
    if (previous !== undefined) this.#remove(previous);
    const now = this.#now();
    const entry: CacheEntry = {
      ...rest,
      route: freezeRoute(rest.route),
      createdAt: now,
      expiresAt: now + ttlSeconds * MS_PER_SECOND,
      hits: 0,
    };
    this.#entries.set(entry.key, entry);
    this.#newest = entry;
    if (entry.kind === 'path') this.#paths.add(entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.values().next().value as CacheEntry;
      this.#remove(oldest);
      if (oldest.expiresAt <= now) this.#expirations += 1;
      else this.#evictions += 1;
    }
    return snapshot(entry);
  }

  /** #remove deletes an entry and keeps the path-entry counts right. */
  #remove(entry: CacheEntry): void {
    this.#entries.delete(entry.key);
    if (entry === this.#newest) this.#newest = null;
    if (entry.kind === 'path') this.#paths.remove(entry);
  }

  /** #matcher turns a filter into a predicate; `prefix` selects entries at or under it. */
  #matcher(filter: CacheFilter): (entry: CacheEntry) => boolean {
    const host = filter.host?.toLowerCase();
    let prefix: string | null = null;
    if (filter.prefix !== undefined) {
      prefix = canonicalPrefix(filter.prefix.trim());
      if (prefix === null || !prefix.startsWith('/')) {
        throw new TypeError(
          `Cannot filter replay cache entries by prefix "${filter.prefix}": a prefix is a path starting with "/"`,
        );
      }
    }
    return (entry) =>
      (filter.app === undefined || entry.sourceApp === filter.app) &&
      (host === undefined || entry.host === host) &&
      (prefix === null || prefixMatches(prefix, entry.prefix));
  }
}
