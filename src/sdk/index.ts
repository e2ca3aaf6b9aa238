/**
 * ricochet/sdk: helpers for apps behind Ricochet (or Fly.io): write `fly-replay` and its cache
 * headers, read `fly-replay-src`, `fly-replay-failed` and `fly-replay-cache-status`, trust a
 * replay's `state`, and adapters for node:http, Express, Fastify and Hono. No server
 * dependencies: nothing here loads a `node:` module or a framework at runtime, and signing uses
 * Web Crypto, so it runs on Node, Deno, Bun and workers. docs/sdk.md is the guide.
 */
export { replay, replayHeaders, invalidateReplayCacheHeaders, type ReplayOptions } from './replay.ts';
export {
  replayCacheHeaders,
  hostCachePattern,
  REPLAY_CACHE_MIN_TTL_SECONDS,
  type ReplayCacheOptions,
} from './replay-cache.ts';
export {
  replayJson,
  replayResponse,
  REPLAY_JSON_CONTENT_TYPE,
  REPLAY_JSON_MAX_BYTES,
  REPLAY_RESPONSE_STATUS,
  REPLAY_TRANSFORM_MAX_HEADERS,
  type ReplayJsonBody,
  type ReplayJsonOptions,
  type ReplayTransformOptions,
} from './replay-response.ts';
export {
  parseReplaySrc,
  parseReplayFailed,
  parseReplayCacheStatus,
  replaySrcOf,
  replayFailedOf,
  replayCacheStatusOf,
  type ParsedReplaySrc,
  type ReplayCacheStatus,
  type ReplayFailed,
  type ReplaySrc,
} from './replay-src.ts';
export {
  verifyReplayState,
  signState,
  verifyState,
  verifySignedReplayState,
  REPLAY_STATE_MAX_CHARS,
  STATE_KEY_MIN_BYTES,
  STATE_TTL_MAX_SECONDS,
  type SignStateOptions,
  type StateKey,
  type VerifyStateOptions,
  type VerifyStateResult,
} from './state.ts';
export { headerOf, type HeaderSource, type HeaderRecord, type HeaderGetter } from './header-of.ts';
export { RicochetSdkError, type SdkErrorCode } from './sdk-error.ts';
export { UNAUTHORIZED_BODY, UNAUTHORIZED_STATUS, type SendReplayOptions } from './adapters/replay-parts.ts';
export { nodeReplay, nodeReplayJson, nodeRequireReplayState, nodeRequireSignedState } from './adapters/node-http.ts';
export {
  expressReplay,
  expressReplayJson,
  expressRequireReplayState,
  expressRequireSignedState,
  type ExpressLikeRequest,
  type ExpressLikeResponse,
  type ExpressMiddleware,
  type ExpressNext,
} from './adapters/express.ts';
export {
  fastifyReplay,
  fastifyReplayJson,
  fastifyRequireReplayState,
  fastifyRequireSignedState,
  fastifyRicochet,
  type FastifyHook,
  type FastifyLikeInstance,
  type FastifyLikeReply,
  type FastifyLikeRequest,
} from './adapters/fastify.ts';
export {
  honoReplay,
  honoRequireReplayState,
  honoRequireSignedState,
  type HonoLikeContext,
  type HonoMiddleware,
  type RicochetVariables,
} from './adapters/hono.ts';
