/**
 * The request headers Ricochet sets on replayed requests: `fly-replay-src` (spec §6.1) on every
 * replay not served from the cache, and `fly-replay-failed` (spec §3.4) on a fallback delivery.
 * Formatters take values and return the header value; parsers read what apps (and the SDK)
 * receive, tolerating the variants seen in Fly's own examples.
 */

/** ReplaySrc is the content of `fly-replay-src`. */
export interface ReplaySrc {
  /** ID of the machine that answered with the replay. */
  instance: string;
  /** Region the request was replayed from. */
  region: string;
  /** When the replay was decided, in microseconds since the Unix epoch. */
  t: number;
  /** The directive's `state`, or null when it had none. */
  state: string | null;
}

/** ParsedReplaySrc is what parseReplaySrc found: the known fields it could read, and every pair. */
export type ParsedReplaySrc = Partial<ReplaySrc> & {
  /** Every `key=value` pair, keys lower case, first occurrence kept, unknown keys included. */
  fields: Record<string, string>;
};

/** ReplayFailed is the content of `fly-replay-failed` (spec §3.4). */
export interface ReplayFailed {
  /** The target machine, or null when none was chosen. */
  instance: string | null;
  /** The target app. */
  app: string;
  /** The target machine's region, or null when none was chosen. */
  region: string | null;
  /** ID of the machine that issued the replay. */
  replaySource: string;
  reason: 'timeout' | 'retries_exhausted' | 'no_candidate';
  elapsedMs: number;
}

/** ReplayHeaderValueError is thrown when a value can't be written into these headers. */
export class ReplayHeaderValueError extends TypeError {
  readonly code = 'INVALID_REPLAY_HEADER_VALUE' as const;

  constructor(header: string, field: string, reason: string) {
    super(`Cannot write ${header}: "${field}" ${reason}`);
    this.name = 'ReplayHeaderValueError';
  }
}

const REASONS: ReadonlySet<string> = new Set(['timeout', 'retries_exhausted', 'no_candidate']);

/** WORD is visible ASCII without `;` or spaces. */
const WORD = /^[\x21-\x3a\x3c-\x7e]*$/;

/**
 * checkPart guards the one-line `key=value;…` format: no `;` (the separator), only visible ASCII
 * and spaces, and no surrounding whitespace (RFC 9110 §5.5 drops it, and the parsers trim it).
 */
function checkPart(header: string, field: string, value: string): string {
  // Most values (ids, regions) are one visible-ASCII word: one test proves every rule below.
  if (typeof value === 'string' && WORD.test(value)) return value;
  if (typeof value !== 'string') throw new ReplayHeaderValueError(header, field, 'must be a string');
  if (!/^[\x20-\x7e]*$/.test(value)) throw new ReplayHeaderValueError(header, field, 'may hold only visible ASCII and spaces');
  if (value.includes(';')) throw new ReplayHeaderValueError(header, field, 'may not contain ";"');
  if (value.trim() !== value) throw new ReplayHeaderValueError(header, field, 'may not start or end with whitespace');
  return value;
}

/**
 * formatReplaySrc writes `instance=…;region=…;t=…;state=…` with no spaces (spec §6.1: Fly's Ruby
 * client reads `(?:^|;)state=([^;]*)`, so a space after `;` would break it). `state=` is left out
 * when the directive had no state, so "no state" and an empty state stay distinguishable.
 */
export function formatReplaySrc(src: ReplaySrc): string {
  const header = 'fly-replay-src';
  if (!Number.isSafeInteger(src.t) || src.t < 0) {
    throw new ReplayHeaderValueError(header, 't', 'must be a whole, non-negative number of microseconds');
  }
  let value = `instance=${checkPart(header, 'instance', src.instance)};region=${checkPart(header, 'region', src.region)};t=${src.t}`;
  if (src.state !== null) value += `;state=${checkPart(header, 'state', src.state)}`;
  return value;
}

/**
 * readPairs splits `key=value` pairs on `;`, or on `,` when there is no `;` at all (the blueprint
 * form, spec §6.1 [CONFLICT]); so in the usual form a `,` inside `state` is kept. Spaces around
 * keys and values are trimmed, keys lower-cased, pairs without `=` skipped, first key wins.
 */
function readPairs(value: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  if (typeof value !== 'string') return fields;
  const separator = value.includes(';') ? ';' : ',';
  for (const part of value.split(separator)) {
    const equals = part.indexOf('=');
    if (equals === -1) continue;
    const key = part.slice(0, equals).trim().toLowerCase();
    if (key === '' || Object.hasOwn(fields, key)) continue;
    fields[key] = part.slice(equals + 1).trim();
  }
  return fields;
}

/** readInteger reads a string of digits as a safe integer, or undefined. */
function readInteger(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined;
  const number = Number(text);
  return Number.isSafeInteger(number) ? number : undefined;
}

/**
 * parseReplaySrc reads a `fly-replay-src` value. Known fields appear typed when present (`t`
 * only when it is a whole number); `fields` keeps every pair as sent.
 */
export function parseReplaySrc(value: string): ParsedReplaySrc {
  const fields = readPairs(value);
  const parsed: ParsedReplaySrc = { fields: { ...fields } };
  if (fields.instance !== undefined) parsed.instance = fields.instance;
  if (fields.region !== undefined) parsed.region = fields.region;
  const t = readInteger(fields.t);
  if (t !== undefined) parsed.t = t;
  if (fields.state !== undefined) parsed.state = fields.state;
  return parsed;
}

/**
 * formatReplayFailed writes `instance=…;app=…;region=…;replay_source=…;reason=…;elapsed_ms=…`
 * in spec §3.4's order, no spaces. `instance` and `region` are left out when no machine was
 * chosen; `elapsed_ms` is rounded to a whole number.
 */
export function formatReplayFailed(failed: ReplayFailed): string {
  const header = 'fly-replay-failed';
  if (!REASONS.has(failed.reason)) throw new ReplayHeaderValueError(header, 'reason', `is not one of ${[...REASONS].join(', ')}`);
  if (!Number.isFinite(failed.elapsedMs) || failed.elapsedMs < 0) {
    throw new ReplayHeaderValueError(header, 'elapsed_ms', 'must be a non-negative number');
  }
  for (const [field, value] of [['instance', failed.instance], ['app', failed.app], ['region', failed.region], ['replay_source', failed.replaySource]] as const) {
    if (value === '') throw new ReplayHeaderValueError(header, field, 'is empty (use null for instance and region)');
  }
  const parts: string[] = [];
  if (failed.instance !== null) parts.push(`instance=${checkPart(header, 'instance', failed.instance)}`);
  parts.push(`app=${checkPart(header, 'app', failed.app)}`);
  if (failed.region !== null) parts.push(`region=${checkPart(header, 'region', failed.region)}`);
  parts.push(`replay_source=${checkPart(header, 'replay_source', failed.replaySource)}`);
  parts.push(`reason=${failed.reason}`);
  parts.push(`elapsed_ms=${Math.round(failed.elapsedMs)}`);
  return parts.join(';');
}

/**
 * parseReplayFailed reads a `fly-replay-failed` value, or returns null when `app`,
 * `replay_source`, a known `reason` or a whole `elapsed_ms` is missing. Separators and spaces are
 * tolerated as in parseReplaySrc.
 */
export function parseReplayFailed(value: string): ReplayFailed | null {
  const fields = readPairs(value);
  const elapsedMs = readInteger(fields.elapsed_ms);
  const { app, replay_source: replaySource, reason } = fields;
  if (app === undefined || app === '' || replaySource === undefined || replaySource === '') return null;
  if (reason === undefined || !REASONS.has(reason) || elapsedMs === undefined) return null;
  return {
    instance: fields.instance === undefined || fields.instance === '' ? null : fields.instance,
    app,
    region: fields.region === undefined || fields.region === '' ? null : fields.region,
    replaySource,
    reason: reason as ReplayFailed['reason'],
    elapsedMs,
  };
}
