/**
 * Replay cache keys (spec §5.2: source app, host, rule, value). Components are escaped so that no
 * app, host or prefix can spell another's key.
 */

import { createHash } from 'node:crypto';
import type { SessionRule } from './cache-session-rule.ts';

/**
 * cacheKey joins key components unambiguously: `%` and `|` are escaped inside a component, so no
 * app, host or prefix can spell another's key.
 */
function cacheKey(parts: readonly string[]): string {
  return parts.map((part) => part.replaceAll('%', '%25').replaceAll('|', '%7C')).join('|');
}

/** pathKey is the key of a path-based entry. */
export function pathKey(sourceApp: string, host: string, prefix: string): string {
  return cacheKey(['path', sourceApp, host, prefix]);
}

/**
 * sessionKey is the key of a session-based entry (spec §5.2: source app, host, rule, value). The
 * value is kept only as a SHA-256 digest: session cookies and Authorization headers are secrets,
 * and keys show up in `list` and logs.
 */
export function sessionKey(sourceApp: string, host: string, rule: SessionRule, value: string): string {
  const digest = createHash('sha256').update(value).digest('base64url');
  return cacheKey(['session', sourceApp, host, rule.prefix, rule.type, rule.name, digest]);
}

/** scopeKey names the (source app, host) pair whose path entries are counted. */
export function scopeKey(sourceApp: string, host: string): string {
  return cacheKey([sourceApp, host]);
}
