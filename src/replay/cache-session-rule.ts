/**
 * Session-based replay cache rules (spec §5.2): parsing, selecting the rule for a request, and
 * reading the cookie or header value the entry is keyed by.
 */

import type { ReplayCacheRule } from '../catalog/types.ts';
import type { CacheRequest } from './cache.ts';
import { readCookie } from './cache-cookie.ts';
import {
  cacheRejection,
  checkCacheTtl,
  isCacheRejection,
  parseCachePattern,
  prefixMatches,
  type CacheRejection,
} from './cache-pattern.ts';

/** SessionRule is a ReplayCacheRule parsed and checked. */
export interface SessionRule {
  /** host is null when the rule applies to every host (each host still keeps its own entries). */
  host: string | null;
  prefix: string;
  ttlSeconds: number;
  type: 'cookie' | 'header';
  /** name is the cookie name as written, or the header name in lowercase. */
  name: string;
  allowBypass: boolean;
}

// RFC 9110 §5.6.2 token: header field names and cookie names (RFC 6265 §4.1.1) are tokens.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const parsedRules = new WeakMap<ReplayCacheRule, SessionRule | CacheRejection>();

/**
 * parseSessionRule checks a rule (spec §5.2: `path_prefix` with or without a host and no scheme
 * or port, `ttl_seconds` at least 10, `type` cookie or header, `name` a token). The config loader
 * can call it to refuse a bad rule up front; the cache ignores a bad rule.
 */
export function parseSessionRule(rule: ReplayCacheRule): SessionRule | CacheRejection {
  const pattern = parseCachePattern(String(rule.path_prefix));
  if (isCacheRejection(pattern)) return pattern;
  const ttl = checkCacheTtl(rule.ttl_seconds);
  if (ttl !== null) return ttl;
  if (rule.type !== 'cookie' && rule.type !== 'header') {
    return cacheRejection('rule-type-invalid', `type "${String(rule.type)}" is neither "cookie" nor "header"`);
  }
  if (typeof rule.name !== 'string' || !TOKEN.test(rule.name)) {
    return cacheRejection('rule-name-invalid', `name "${String(rule.name)}" is not a valid ${rule.type} name`);
  }
  return {
    host: pattern.host,
    prefix: pattern.prefix,
    ttlSeconds: rule.ttl_seconds,
    type: rule.type,
    name: rule.type === 'header' ? rule.name.toLowerCase() : rule.name,
    allowBypass: rule.allow_bypass === true,
  };
}

/** parsedRule parses a rule once; catalog snapshots are immutable, so rule objects are stable. */
function parsedRule(rule: ReplayCacheRule): SessionRule | CacheRejection {
  let parsed = parsedRules.get(rule);
  if (parsed === undefined) {
    parsed = parseSessionRule(rule);
    parsedRules.set(rule, parsed);
  }
  return parsed;
}

/**
 * selectSessionRule picks the rule governing a request (spec §5.2): the longest matching prefix
 * wins; on equal prefixes a rule naming the host beats a host-less one, then the first listed.
 * Invalid rules never match. `host` is lowercase; `path` has passed isCacheablePath.
 */
export function selectSessionRule(
  rules: readonly ReplayCacheRule[],
  host: string,
  path: string,
): SessionRule | null {
  let best: SessionRule | null = null;
  for (const rule of rules) {
    const parsed = parsedRule(rule);
    if (isCacheRejection(parsed)) continue;
    if (parsed.host !== null && parsed.host !== host) continue;
    if (!prefixMatches(parsed.prefix, path)) continue;
    if (
      best === null ||
      parsed.prefix.length > best.prefix.length ||
      (parsed.prefix.length === best.prefix.length && best.host === null && parsed.host !== null)
    ) {
      best = parsed;
    }
  }
  return best;
}

/**
 * readSessionValue returns the cookie or header value a session entry is keyed by, or undefined
 * when the request carries none. An empty value counts as absent: otherwise every client without
 * a session would share one entry.
 */
export function readSessionValue(req: CacheRequest, rule: SessionRule): string | undefined {
  const raw = rule.type === 'cookie' ? readCookie(req.header('cookie'), rule.name) : req.header(rule.name);
  const value = raw?.trim();
  return value === undefined || value === '' ? undefined : value;
}
