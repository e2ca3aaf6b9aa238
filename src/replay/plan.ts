/**
 * planReplay acts on a machine's `fly-replay` (spec §1–§3, §5): it checks the directive and the
 * hop limit, finds the target app within the allowed scope, stores or invalidates replay-cache
 * entries, and returns the next hop's Target with `fly-replay-src` and the cache status set.
 */
import { performance } from 'node:perf_hooks';
import type { Machine } from '../catalog/types.ts';
import { NO_MACHINES, type RequestContext, type Target } from '../proxy/context.ts';
import { ProxyError } from '../proxy/errors.ts';
import type { ReplaySink } from '../proxy/forward-http.ts';
import type { ProxyRuntime } from '../proxy/runtime.ts';
import { headerValue } from '../upstream/response-head.ts';
import {
  isReplayJsonContentType,
  parseReplayHeader,
  parseReplayJson,
  ReplayParseError,
  withCacheHeaders,
  type ReplayDirective,
} from './directive.ts';
import { formatReplaySrc } from './replay-src.ts';
import { storeReplayCache } from './cache-route.ts';

/** ReplayResponse is a machine's answer that asked for a replay. */
export interface ReplayResponse {
  machine: Machine;
  status: number;
  /** The machine's response fields, flat `[name, value, …]`, names lowercase. */
  headers: readonly string[];
  sink: ReplaySink;
}

export function planReplay(rt: ProxyRuntime, ctx: RequestContext, current: Target, replay: ReplayResponse, hops: number): Target {
  const { machine } = replay;
  ctx.hops.push({ app: machine.app, machine: machine.id, region: machine.region, status: replay.status });
  if (current.isFallback) {
    throw new ProxyError('PA07', `machine "${machine.id}" answered fly-replay to a request delivered by a fallback`, {
      source: 'upstream',
    });
  }
  if (hops > rt.config.replay.max_hops) {
    throw new ProxyError('PA02', `more than ${rt.config.replay.max_hops} chained replays`, { source: 'upstream' });
  }
  const directive = readDirective(replay);
  if (directive.instance === machine.id) {
    throw new ProxyError('PA02', `machine "${machine.id}" replayed the request to itself`, { source: 'upstream' });
  }
  if (directive.cache?.invalidate === true && current.cacheKey !== null) {
    rt.cache.invalidate(current.cacheKey);
    rt.logger.info({ request: ctx.id, key: current.cacheKey, machine: machine.id }, 'replay cache entry invalidated');
  }
  const source = current.app;
  const app = directive.app === null ? source : rt.catalog.snapshot.app(directive.app);
  if (app === undefined) {
    throw new ProxyError('PA04', `replay target app "${directive.app}" does not exist`, { source: 'upstream' });
  }
  if (app.org !== source.org && !(rt.config.orgs[app.org]?.replay_sources.includes(source.org) ?? false)) {
    throw new ProxyError('PA05', `app "${app.name}" is in org "${app.org}", which does not accept replays from org "${source.org}"`, {
      source: 'upstream',
    });
  }
  if (ctx.body !== null && !ctx.body.rewindable) {
    throw new ProxyError('PA01', `the request body is over the replay limit of ${rt.config.replay.max_body_bytes} bytes`, {
      source: 'downstream',
    });
  }

  const next: Target = {
    app,
    regions: directive.regions === null ? null : rt.regions.expand(directive.regions),
    // `region="sjc,any"` means "sjc, else anywhere" (spec §1.2), so a list without `any` is the
    // whole choice: no fallback to other regions (docs/replay.md).
    regionsOnly: directive.regions !== null,
    instance: directive.instance,
    preferInstance: directive.preferInstance,
    exclude: directive.elsewhere ? new Set([machine.id]) : NO_MACHINES,
    headers: [
      'fly-replay-src',
      formatReplaySrc({ instance: machine.id, region: machine.region, t: nowMicros(), state: directive.state }),
      'fly-replay-cache-status',
      ctx.cacheBypass ? 'bypass' : 'miss',
    ],
    transform: directive.transform,
    deadline: performance.now() + (directive.timeoutMs ?? rt.config.replay.timeout_ms),
    fallback: directive.fallback === null ? null : { mode: directive.fallback, app: source, machine },
    isFallback: false,
    replayedBy: machine,
    cacheKey: null,
    uncached: null,
  };
  // Only the origin app's decisions are cached (the app the Host header names), and only when
  // the origin itself was asked, not the cache: one level of cache lookup (spec §5.4). After an
  // invalidation the origin's next answer is cached again at once.
  if (source.name === ctx.app?.name && current.cacheKey === null && directive.cache?.invalidate !== true) {
    next.cacheKey = storeReplayCache(rt, ctx, source, directive, machine);
  }
  return next;
}

/**
 * readDirective parses the replay from the JSON body when the content type says so, else from
 * the header (docs/replay.md: the JSON form wins when both are present, `fly-replay` and, when
 * the JSON has a `cache` part, `fly-replay-cache*` too).
 */
function readDirective(replay: ReplayResponse): ReplayDirective {
  const { headers, sink } = replay;
  try {
    let directive: ReplayDirective;
    if (isReplayJsonContentType(headerValue(headers, 'content-type'))) {
      if (sink.overflowed) throw new ReplayParseError(`the JSON replay body is over ${sink.limit} bytes`);
      directive = parseReplayJson(sink.text());
      // The JSON form wins: its `cache` part makes `fly-replay-cache*` headers moot.
      if (directive.cache !== null) return directive;
    } else {
      directive = parseReplayHeaderOnce(headerValue(headers, 'fly-replay') ?? '');
    }
    return withCacheHeaders(directive, {
      cache: headerValue(headers, 'fly-replay-cache'),
      ttl: headerValue(headers, 'fly-replay-cache-ttl-secs'),
      allowBypass: headerValue(headers, 'fly-replay-cache-allow-bypass'),
    });
  } catch (error) {
    if (error instanceof ReplayParseError) {
      throw new ProxyError('PA03', `machine "${replay.machine.id}" sent an invalid replay: ${error.message}`, {
        source: 'upstream',
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * PARSED_HEADERS_MAX_ENTRIES bounds the `fly-replay` values kept parsed. A router answers the
 * same few values again and again (`app=…`, `region=…`); values that differ per request (a
 * `state`) only cycle through the memo, which is emptied when full.
 */
const PARSED_HEADERS_MAX_ENTRIES = 128;
const parsedHeaders = new Map<string, ReplayDirective>();

/**
 * parseReplayHeaderOnce is parseReplayHeader through a memo of the values met last. The
 * directives it hands out are shared, so they are frozen; an invalid value is not kept and
 * throws every time.
 */
export function parseReplayHeaderOnce(value: string): ReplayDirective {
  let directive = parsedHeaders.get(value);
  if (directive !== undefined) return directive;
  directive = parseReplayHeader(value);
  if (directive.regions !== null) Object.freeze(directive.regions);
  Object.freeze(directive);
  if (parsedHeaders.size >= PARSED_HEADERS_MAX_ENTRIES) parsedHeaders.clear();
  parsedHeaders.set(value, directive);
  return directive;
}

function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
