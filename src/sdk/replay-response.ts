/**
 * The JSON form of a replay (spec §2): a response with `Content-Type:
 * application/vnd.fly.replay+json` whose body is the directive. It can do what the header can't:
 * rewrite the path and headers (`transform`) and carry the cache instruction in the body.
 */
import { checkHeaderName, checkHeaderValue, checkSetHeaderName, checkTransformPath } from '../replay/directive-fields.ts';
import { checkCacheable, checkCacheOptions, type ReplayCacheOptions } from './replay-cache.ts';
import { checkReplayOptions, type ReplayOptions } from './replay.ts';
import { optionError, typeError } from './option-error.ts';
import { RicochetSdkError } from './sdk-error.ts';

/** REPLAY_JSON_CONTENT_TYPE marks a replay body (spec §2). */
export const REPLAY_JSON_CONTENT_TYPE = 'application/vnd.fly.replay+json';

// The proxy's limits (src/replay/directive-json.ts), repeated because that module reads the body
// with node:buffer, which the SDK may not load; test/sdk/replay-response.test.ts keeps them equal.
/** REPLAY_TRANSFORM_MAX_HEADERS bounds each of `deleteHeaders` and `setHeaders`. */
export const REPLAY_TRANSFORM_MAX_HEADERS = 64;
/** REPLAY_JSON_MAX_BYTES is the largest replay body the proxy reads. */
export const REPLAY_JSON_MAX_BYTES = 64 * 1024;

/** REPLAY_RESPONSE_STATUS is the status replay responses get unless told otherwise (see docs/sdk.md). */
export const REPLAY_RESPONSE_STATUS = 409;

/** ReplayTransformOptions rewrites the request before it is replayed (spec §2). */
export interface ReplayTransformOptions {
  /** New path and query; without a `?` the original query is kept. */
  path?: string;
  /** Request headers to remove. */
  deleteHeaders?: readonly string[];
  /** Request headers to set, replacing any of the same name; a record or name/value pairs. */
  setHeaders?: Readonly<Record<string, string>> | readonly { name: string; value: string }[];
}

/** ReplayJsonOptions are a replay's fields plus what only the JSON form carries. */
export interface ReplayJsonOptions extends ReplayOptions {
  transform?: ReplayTransformOptions;
  /** Cache the decision (spec §5.1), or `{ invalidate: true }` to drop it (spec §5.3). */
  cache?: ReplayCacheOptions | { invalidate: true };
}

/** ReplayJsonBody is the wire shape of spec §2, snake_case as Fly writes it. */
export interface ReplayJsonBody {
  app?: string;
  region?: string;
  instance?: string;
  prefer_instance?: string;
  state?: string;
  elsewhere?: boolean;
  timeout?: string;
  fallback?: 'force_self' | 'prefer_self';
  transform?: { path?: string; delete_headers?: string[]; set_headers?: { name: string; value: string }[] };
  cache?: { prefix?: string; ttl?: number; allow_bypass?: boolean; invalidate?: boolean };
}

const HEADER = 'the replay body';
const CODE = 'INVALID_REPLAY_OPTION';
const TRANSFORM_KEYS: ReadonlySet<string> = new Set(['path', 'deleteHeaders', 'setHeaders']);

function readSetHeaders(value: ReplayTransformOptions['setHeaders']): { name: string; value: string }[] {
  if (value === undefined) return [];
  const pairs = Array.isArray(value)
    ? (value as { name: string; value: string }[])
    : typeof value === 'object' && value !== null
      ? Object.entries(value).map(([name, v]) => ({ name, value: v as string }))
      : null;
  if (pairs === null) throw typeError(CODE, HEADER, 'transform.setHeaders', 'a record or a list of {name, value}', value);
  if (pairs.length > REPLAY_TRANSFORM_MAX_HEADERS) {
    throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: "transform.setHeaders" has more than ${REPLAY_TRANSFORM_MAX_HEADERS} entries`, {
      field: 'transform.setHeaders',
    });
  }
  const seen = new Set<string>();
  return pairs.map((pair, index) => {
    const field = `transform.setHeaders[${index}]`;
    if (typeof pair?.name !== 'string') throw typeError(CODE, HEADER, `${field}.name`, 'a string', pair?.name);
    if (typeof pair.value !== 'string') throw typeError(CODE, HEADER, `${field}.value`, 'a string', pair.value);
    const name = checkSetHeaderName(pair.name, `${field}.name`);
    if (seen.has(name)) throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: "${name}" is set twice`, { field: `${field}.name` });
    seen.add(name);
    return { name, value: checkHeaderValue(pair.value, `${field}.value`) };
  });
}

function readTransform(transform: ReplayTransformOptions): ReplayJsonBody['transform'] | undefined {
  if (typeof transform !== 'object' || transform === null) throw typeError(CODE, HEADER, 'transform', 'an object', transform);
  for (const key of Object.keys(transform)) {
    if (!TRANSFORM_KEYS.has(key)) throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: unknown option "transform.${key}"`, { field: `transform.${key}` });
  }
  const out: NonNullable<ReplayJsonBody['transform']> = {};
  if (transform.path !== undefined) {
    if (typeof transform.path !== 'string') throw typeError(CODE, HEADER, 'transform.path', 'a string', transform.path);
    out.path = checkTransformPath(transform.path, 'transform.path');
  }
  if (transform.deleteHeaders !== undefined) {
    const names = transform.deleteHeaders;
    if (!Array.isArray(names)) throw typeError(CODE, HEADER, 'transform.deleteHeaders', 'a list of header names', names);
    if (names.length > REPLAY_TRANSFORM_MAX_HEADERS) {
      throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: "transform.deleteHeaders" has more than ${REPLAY_TRANSFORM_MAX_HEADERS} entries`, {
        field: 'transform.deleteHeaders',
      });
    }
    out.delete_headers = names.map((name: unknown, index: number) => {
      if (typeof name !== 'string') throw typeError(CODE, HEADER, `transform.deleteHeaders[${index}]`, 'a string', name);
      return checkHeaderName(name, `transform.deleteHeaders[${index}]`);
    });
  }
  const set = readSetHeaders(transform.setHeaders);
  if (set.length > 0) out.set_headers = set;
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * replayJson returns the body of a JSON replay (spec §2) for `options`. `{}` is valid: replay
 * within the same app with ordinary load balancing. Throws RicochetSdkError
 * (`INVALID_REPLAY_OPTION`, or `INVALID_REPLAY_CACHE` for the cache part and spec §5.4).
 */
export function replayJson(options: ReplayJsonOptions): ReplayJsonBody {
  if (typeof options !== 'object' || options === null) throw typeError(CODE, HEADER, 'options', 'an object', options);
  const { transform, cache, ...fields } = options;
  const checked = checkReplayOptions(fields);
  const body: ReplayJsonBody = {};
  if (checked.app !== null) body.app = checked.app;
  if (checked.regions !== null) body.region = checked.regions.join(',');
  if (checked.instance !== null) body.instance = checked.instance;
  if (checked.preferInstance !== null) body.prefer_instance = checked.preferInstance;
  if (checked.state !== null) body.state = checked.state;
  if (checked.elsewhere) body.elsewhere = true;
  if (checked.timeout !== null) body.timeout = checked.timeout;
  if (checked.fallback !== null) body.fallback = checked.fallback;
  if (transform !== undefined) {
    try {
      const written = readTransform(transform);
      if (written !== undefined) body.transform = written;
    } catch (error) {
      throw optionError(error, CODE, HEADER);
    }
  }
  if (cache !== undefined) {
    if (typeof cache === 'object' && cache !== null && 'invalidate' in cache) {
      if (cache.invalidate !== true || Object.keys(cache).length !== 1) {
        throw new RicochetSdkError('INVALID_REPLAY_CACHE', `Cannot write ${HEADER}: an invalidation is exactly { invalidate: true }`, { field: 'cache' });
      }
      body.cache = { invalidate: true };
    } else {
      checkCacheable({ state: options.state, timeout: options.timeout, fallback: options.fallback, transform: body.transform });
      const checkedCache = checkCacheOptions(cache as ReplayCacheOptions);
      body.cache = { prefix: checkedCache.pattern, ttl: checkedCache.ttlSeconds };
      // Inside `cache`: the docs don't say where allow_bypass goes; Ricochet reads both places.
      if (checkedCache.allowBypass) body.cache.allow_bypass = true;
    }
  }
  return body;
}

/**
 * replayResponse returns a fetch `Response` carrying a JSON replay: status 409 unless `init`
 * says otherwise (the proxy ignores it; a client that somehow receives it sees a failure, not
 * an empty success), and `Content-Type: application/vnd.fly.replay+json`.
 */
export function replayResponse(options: ReplayJsonOptions, init: { status?: number; headers?: Record<string, string> } = {}): Response {
  const body = JSON.stringify(replayJson(options));
  if (new TextEncoder().encode(body).length > REPLAY_JSON_MAX_BYTES) {
    throw new RicochetSdkError(CODE, `Cannot write ${HEADER}: it is larger than ${REPLAY_JSON_MAX_BYTES} bytes`, { field: null });
  }
  const headers = new Headers(init.headers);
  headers.set('content-type', REPLAY_JSON_CONTENT_TYPE);
  return new Response(body, { status: init.status ?? REPLAY_RESPONSE_STATUS, headers });
}
