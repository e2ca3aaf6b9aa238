/**
 * replayParts is what every adapter sends for a header-form replay: status, headers and a short
 * text body, so that the four adapters answer byte for byte alike. It is also where the guards'
 * refusal lives (UNAUTHORIZED_*), for the same reason.
 */
import { invalidateReplayCacheHeaders, replayHeaders, type ReplayOptions } from '../replay.ts';
import type { ReplayCacheOptions } from '../replay-cache.ts';
import { REPLAY_RESPONSE_STATUS } from '../replay-response.ts';
import { RicochetSdkError } from '../sdk-error.ts';

/** SendReplayOptions are an adapter's extras around ReplayOptions. */
export interface SendReplayOptions {
  /** Response status; default 409 (the proxy ignores it). */
  status?: number;
  /** Ask the proxy to cache this decision (spec §5.1). */
  cache?: ReplayCacheOptions;
  /** Drop the cached decision that routed this request here (spec §5.3); the replay goes back to the origin. */
  invalidateCache?: boolean;
  /** Body of the replaying response, which the proxy drops; default `replaying\n`. */
  body?: string;
}

export interface ReplayParts {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** UNAUTHORIZED_STATUS and UNAUTHORIZED_BODY are the guards' answer to a request without a valid replay state. */
export const UNAUTHORIZED_STATUS = 401;
export const UNAUTHORIZED_BODY = 'Unauthorized: this machine only answers requests replayed to it by its router\n';
export const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

export function replayParts(options: ReplayOptions, extra: SendReplayOptions = {}): ReplayParts {
  if (extra.cache !== undefined && extra.invalidateCache === true) {
    throw new RicochetSdkError('INVALID_REPLAY_CACHE', 'Cannot write fly-replay-cache: a replay cannot both cache and invalidate', { field: 'cache' });
  }
  const headers = extra.invalidateCache === true ? invalidateReplayCacheHeaders(options) : replayHeaders(options, { cache: extra.cache });
  return {
    status: extra.status ?? REPLAY_RESPONSE_STATUS,
    headers: { ...headers, 'content-type': TEXT_CONTENT_TYPE },
    body: extra.body ?? 'replaying\n',
  };
}
