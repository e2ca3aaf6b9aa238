/**
 * Reading what the proxy tells a replay target: `fly-replay-src` (spec §6.1), `fly-replay-failed`
 * (spec §3.4) and `fly-replay-cache-status` (spec §5.3). The parsers are the proxy's own
 * (src/replay/replay-src.ts): `;` between fields, `,` tolerated when there is no `;` (the form in
 * Fly's user-machines blueprint), spaces trimmed.
 */
import {
  parseReplayFailed as parseFailedValue,
  parseReplaySrc as parseSrcValue,
  type ParsedReplaySrc,
  type ReplayFailed,
} from '../replay/replay-src.ts';
import { headerOf, type HeaderSource } from './header-of.ts';

export type { ParsedReplaySrc, ReplayFailed, ReplaySrc } from '../replay/replay-src.ts';

/** ReplayCacheStatus is `fly-replay-cache-status`: how the request got here (spec §5.3). */
export type ReplayCacheStatus = 'hit' | 'miss' | 'bypass';

const CACHE_STATUSES: ReadonlySet<string> = new Set(['hit', 'miss', 'bypass']);

/**
 * parseReplaySrc reads a `fly-replay-src` value: `instance`, `region`, `t` (microseconds since
 * the epoch, present only when it is a whole number) and `state` when sent, and `fields` with
 * every pair. Null for an absent or empty header: the request was not replayed (or came through
 * the replay cache, which sets no `fly-replay-src`, spec §5.4).
 */
export function parseReplaySrc(value: string | null | undefined): ParsedReplaySrc | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  return parseSrcValue(value);
}

/**
 * parseReplayFailed reads a `fly-replay-failed` value (spec §3.4), set on a request delivered by
 * a replay's fallback. Null when absent or when a required field is missing.
 */
export function parseReplayFailed(value: string | null | undefined): ReplayFailed | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  return parseFailedValue(value);
}

/** parseReplayCacheStatus reads `fly-replay-cache-status`; null when absent or unknown. */
export function parseReplayCacheStatus(value: string | null | undefined): ReplayCacheStatus | null {
  if (typeof value !== 'string') return null;
  const status = value.trim().toLowerCase();
  return CACHE_STATUSES.has(status) ? (status as ReplayCacheStatus) : null;
}

/** replaySrcOf reads `fly-replay-src` from a request (any HeaderSource). */
export function replaySrcOf(request: HeaderSource): ParsedReplaySrc | null {
  return parseReplaySrc(headerOf(request, 'fly-replay-src'));
}

/** replayFailedOf reads `fly-replay-failed` from a request. */
export function replayFailedOf(request: HeaderSource): ReplayFailed | null {
  return parseReplayFailed(headerOf(request, 'fly-replay-failed'));
}

/** replayCacheStatusOf reads `fly-replay-cache-status` from a request. */
export function replayCacheStatusOf(request: HeaderSource): ReplayCacheStatus | null {
  return parseReplayCacheStatus(headerOf(request, 'fly-replay-cache-status'));
}
