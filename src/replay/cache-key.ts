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
  return parts.map(escapePart).join('|');
}

/** escapePart escapes `%` and `|`; most parts have neither and are returned as they are. */
function escapePart(part: string): string {
  return part.includes('%') || part.includes('|') ? part.replaceAll('%', '%25').replaceAll('|', '%7C') : part;
}

/** pathKey is the key of a path-based entry. */
export function pathKey(sourceApp: string, host: string, prefix: string): string {
  return `path|${escapePart(sourceApp)}|${escapePart(host)}|${escapePart(prefix)}`;
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
