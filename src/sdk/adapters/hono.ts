/**
 * The Hono adapter, for every runtime Hono runs on (Node, Deno, Bun, workers): a replay as a
 * fetch `Response`, and middleware that lets through only requests replayed by the app's router.
 * Typed structurally, so the SDK does not need hono; test/sdk/hono.test.ts runs it in a real
 * Hono app. Declare the variable in your app: `new Hono<{ Variables: RicochetVariables }>()`.
 */
import type { ParsedReplaySrc } from '../replay-src.ts';
import { replaySrcOf } from '../replay-src.ts';
import type { ReplayOptions } from '../replay.ts';
import { checkPresharedKeys, checkSigningKeys, verifyReplayState, verifySignedReplayState, type StateKey, type VerifyStateOptions } from '../state.ts';
import { replayParts, TEXT_CONTENT_TYPE, UNAUTHORIZED_BODY, UNAUTHORIZED_STATUS, type SendReplayOptions } from './replay-parts.ts';

/** RicochetVariables are the context variables the middleware sets. */
export interface RicochetVariables {
  /** The verified payload of a signed state (honoRequireSignedState). */
  replayState: unknown;
  /** The parsed `fly-replay-src` of a request the middleware let through. */
  replaySrc: ParsedReplaySrc | null;
}

/** HonoLikeContext is what the middleware uses of Hono's `c`. */
export interface HonoLikeContext {
  req: { raw: Request };
  set(key: 'replayState', value: unknown): void;
  set(key: 'replaySrc', value: ParsedReplaySrc | null): void;
}

export type HonoMiddleware = (c: HonoLikeContext, next: () => Promise<void>) => Promise<Response | void>;

/** honoReplay returns a response with a `fly-replay` header (and cache headers when asked): `return honoReplay({ app })`. */
export function honoReplay(options: ReplayOptions, extra: SendReplayOptions = {}): Response {
  const { status, headers, body } = replayParts(options, extra);
  return new Response(body, { status, headers });
}

function refuse(): Response {
  return new Response(UNAUTHORIZED_BODY, { status: UNAUTHORIZED_STATUS, headers: { 'content-type': TEXT_CONTENT_TYPE } });
}

/**
 * honoRequireReplayState is middleware for the pre-shared key pattern: requests replayed with
 * `state` equal to `key` go on (with `replaySrc` set); anything else gets 401.
 */
export function honoRequireReplayState(key: string | readonly string[]): HonoMiddleware {
  checkPresharedKeys(key);
  return async (c, next) => {
    if (!verifyReplayState(c.req.raw, key)) return refuse();
    c.set('replaySrc', replaySrcOf(c.req.raw));
    await next();
  };
}

/**
 * honoRequireSignedState is middleware for signed states (signState): a request whose replay
 * state verifies goes on with `c.get('replayState')` set to the payload; anything else gets 401.
 */
export function honoRequireSignedState(key: StateKey | readonly StateKey[], options: VerifyStateOptions = {}): HonoMiddleware {
  checkSigningKeys(key);
  return async (c, next) => {
    const result = await verifySignedReplayState(c.req.raw, key, options);
    if (!result.ok) return refuse();
    c.set('replayState', result.payload);
    c.set('replaySrc', replaySrcOf(c.req.raw));
    await next();
  };
}
