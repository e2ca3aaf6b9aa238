/**
 * The Express adapter (4 and 5): send a replay from `res`, and middleware that lets through only
 * requests replayed by the app's router. Typed structurally, so the SDK needs neither express
 * nor @types/express; test/sdk/express.test.ts runs it in a real Express app.
 */
import type { HeaderRecord } from '../header-of.ts';
import { replayJson, REPLAY_JSON_CONTENT_TYPE, REPLAY_RESPONSE_STATUS, type ReplayJsonOptions } from '../replay-response.ts';
import { replaySrcOf } from '../replay-src.ts';
import type { ReplayOptions } from '../replay.ts';
import { checkPresharedKeys, checkSigningKeys, verifyReplayState, verifySignedReplayState, type StateKey, type VerifyStateOptions } from '../state.ts';
import { replayParts, TEXT_CONTENT_TYPE, UNAUTHORIZED_BODY, UNAUTHORIZED_STATUS, type SendReplayOptions } from './replay-parts.ts';

/** ExpressLikeRequest is what the adapter reads of Express's `req`. */
export interface ExpressLikeRequest {
  headers: HeaderRecord;
}

/** ExpressLikeResponse is what the adapter uses of Express's `res`. */
export interface ExpressLikeResponse {
  status(code: number): unknown;
  set(headers: Record<string, string>): unknown;
  send(body?: string): unknown;
  locals: Record<string, unknown>;
}

export type ExpressNext = (error?: unknown) => void;
/**
 * ExpressMiddleware is generic so that, placed before a route handler (`app.get(path, guard,
 * handler)`), it takes Express's own request and response types instead of imposing these.
 */
export type ExpressMiddleware = <Req extends ExpressLikeRequest, Res extends ExpressLikeResponse>(req: Req, res: Res, next: ExpressNext) => void;

/** expressReplay answers with a `fly-replay` header (and cache headers when asked). */
export function expressReplay(res: ExpressLikeResponse, options: ReplayOptions, extra: SendReplayOptions = {}): void {
  const { status, headers, body } = replayParts(options, extra);
  res.status(status);
  res.set(headers);
  res.send(body);
}

/** expressReplayJson answers with a JSON replay (spec §2). */
export function expressReplayJson(res: ExpressLikeResponse, options: ReplayJsonOptions, extra: { status?: number } = {}): void {
  const body = JSON.stringify(replayJson(options));
  res.status(extra.status ?? REPLAY_RESPONSE_STATUS);
  res.set({ 'content-type': REPLAY_JSON_CONTENT_TYPE });
  res.send(body);
}

function refuse(res: ExpressLikeResponse): void {
  res.status(UNAUTHORIZED_STATUS);
  res.set({ 'content-type': TEXT_CONTENT_TYPE });
  res.send(UNAUTHORIZED_BODY);
}

/**
 * expressRequireReplayState is middleware for the pre-shared key pattern: requests replayed with
 * `state` equal to `key` go on (with `res.locals.replaySrc` set); anything else gets 401.
 */
export function expressRequireReplayState(key: string | readonly string[]): ExpressMiddleware {
  checkPresharedKeys(key);
  return (req, res, next) => {
    if (!verifyReplayState(req, key)) return refuse(res);
    res.locals.replaySrc = replaySrcOf(req);
    next();
  };
}

/**
 * expressRequireSignedState is middleware for signed states (signState): a request whose replay
 * state verifies goes on with `res.locals.replayState` (the payload) and `res.locals.replaySrc`;
 * anything else gets 401.
 */
export function expressRequireSignedState(key: StateKey | readonly StateKey[], options: VerifyStateOptions = {}): ExpressMiddleware {
  checkSigningKeys(key);
  return (req, res, next) => {
    verifySignedReplayState(req, key, options).then((result) => {
      if (!result.ok) return refuse(res);
      res.locals.replayState = result.payload;
      res.locals.replaySrc = replaySrcOf(req);
      next();
    }, next);
  };
}
