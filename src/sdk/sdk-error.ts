/**
 * RicochetSdkError is the one error the SDK throws: a value it was asked to write (a replay
 * option, a cache pattern, a state key or payload) can't be written. Expected outcomes, such as
 * a state that does not verify, are returned as values, never thrown.
 */

/** SdkErrorCode names what was wrong; tests and callers branch on it, never on the message. */
export type SdkErrorCode =
  /** A `fly-replay` field (header or JSON form) has a value the proxy would refuse (spec §1.2, §2). */
  | 'INVALID_REPLAY_OPTION'
  /** A `fly-replay-cache*` value is invalid, or the replay may not be cached (spec §5.1, §5.4). */
  | 'INVALID_REPLAY_CACHE'
  /** A state key is empty, too short, or not a string or bytes. */
  | 'INVALID_STATE_KEY'
  /** A state payload can't be serialised as JSON, or a TTL is out of range. */
  | 'INVALID_STATE'
  /** A signed state would not fit in `fly-replay`'s `state` field. */
  | 'STATE_TOO_LARGE'
  /** The runtime has no Web Crypto (`globalThis.crypto.subtle`). */
  | 'NO_WEB_CRYPTO';

export class RicochetSdkError extends Error {
  readonly code: SdkErrorCode;
  /** field names the option at fault (`preferInstance`, `cache.ttlSeconds`), or null. */
  readonly field: string | null;

  constructor(code: SdkErrorCode, message: string, options: { field?: string | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RicochetSdkError';
    this.code = code;
    this.field = options.field ?? null;
  }
}
