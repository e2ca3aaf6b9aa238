/**
 * The Fastify adapter (v4 and v5): send a replay from `reply`, and preHandler hooks that let
 * through only requests replayed by the app's router. Typed structurally, so the SDK does not
 * need fastify; test/sdk/fastify.test.ts runs it in a real Fastify app.
 */
import type { HeaderRecord } from '../header-of.ts';
import { replayJson, REPLAY_JSON_CONTENT_TYPE, REPLAY_RESPONSE_STATUS, type ReplayJsonOptions } from '../replay-response.ts';
import type { ReplayOptions } from '../replay.ts';
import { checkPresharedKeys, checkSigningKeys, verifyReplayState, verifySignedReplayState, type StateKey, type VerifyStateOptions } from '../state.ts';
import { replayParts, TEXT_CONTENT_TYPE, UNAUTHORIZED_BODY, UNAUTHORIZED_STATUS, type SendReplayOptions } from './replay-parts.ts';

/** FastifyLikeRequest is what the adapter reads of Fastify's `request`; `replayState` is set by the signed-state hook. */
export interface FastifyLikeRequest {
  headers: HeaderRecord;
  replayState?: unknown;
}

/** FastifyLikeReply is what the adapter uses of Fastify's `reply`. */
export interface FastifyLikeReply {
  code(statusCode: number): unknown;
  headers(values: Record<string, string>): unknown;
  send(payload?: string): unknown;
}

export type FastifyHook = (request: FastifyLikeRequest, reply: FastifyLikeReply) => Promise<unknown>;

/** fastifyReplay answers with a `fly-replay` header; returns `reply`, so a handler can `return fastifyReplay(reply, …)`. */
export function fastifyReplay<R extends FastifyLikeReply>(reply: R, options: ReplayOptions, extra: SendReplayOptions = {}): R {
  const { status, headers, body } = replayParts(options, extra);
  reply.code(status);
  reply.headers(headers);
  reply.send(body);
  return reply;
}

/** fastifyReplayJson answers with a JSON replay (spec §2); returns `reply`. */
export function fastifyReplayJson<R extends FastifyLikeReply>(reply: R, options: ReplayJsonOptions, extra: { status?: number } = {}): R {
  const body = JSON.stringify(replayJson(options));
  reply.code(extra.status ?? REPLAY_RESPONSE_STATUS);
  reply.headers({ 'content-type': REPLAY_JSON_CONTENT_TYPE });
  reply.send(body);
  return reply;
}

function refuse(reply: FastifyLikeReply): FastifyLikeReply {
  reply.code(UNAUTHORIZED_STATUS);
  reply.headers({ 'content-type': TEXT_CONTENT_TYPE });
  reply.send(UNAUTHORIZED_BODY);
  return reply;
}

/**
 * fastifyRequireReplayState is a preHandler hook for the pre-shared key pattern: requests
 * replayed with `state` equal to `key` go on; anything else gets 401.
 */
export function fastifyRequireReplayState(key: string | readonly string[]): FastifyHook {
  checkPresharedKeys(key);
  // An async hook that answers must return the reply, so Fastify stops there.
  return async (request, reply) => (verifyReplayState(request, key) ? undefined : refuse(reply));
}

/**
 * fastifyRequireSignedState is a preHandler hook for signed states (signState): a request whose
 * replay state verifies goes on with `request.replayState` set to the payload (register
 * fastifyRicochet to declare that property up front); anything else gets 401.
 */
export function fastifyRequireSignedState(key: StateKey | readonly StateKey[], options: VerifyStateOptions = {}): FastifyHook {
  checkSigningKeys(key);
  return async (request, reply) => {
    const result = await verifySignedReplayState(request, key, options);
    if (!result.ok) return refuse(reply);
    request.replayState = result.payload;
    return undefined;
  };
}

/** FastifyLikeInstance is what fastifyRicochet uses of a Fastify instance. */
export interface FastifyLikeInstance {
  decorateRequest(name: string, value: null): unknown;
}

/**
 * fastifyRicochet is a plugin that declares `request.replayState` (null until the signed-state
 * hook sets it), as Fastify asks of properties added to requests. It applies to the whole app
 * (`skip-override`, what fastify-plugin sets), not only to routes registered inside it.
 */
export function fastifyRicochet(instance: FastifyLikeInstance, _options: unknown, done: (error?: Error) => void): void {
  instance.decorateRequest('replayState', null);
  done();
}
(fastifyRicochet as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
