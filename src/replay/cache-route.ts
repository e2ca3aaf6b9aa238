/**
 * lookupReplayCache and storeReplayCache connect the replay cache (cache.ts) to the pipeline:
 * a hit aims the first hop straight at the cached target with `fly-replay-cache-status: hit`
 * and no `fly-replay-src` (spec §5.3, §5.4); a bypass sends the request to the app as usual and
 * marks its replay `bypass`; a replay from the origin app is stored when it asked for caching.
 */
import type { App, Machine, ReplayCacheRule } from '../catalog/types.ts';
import { serviceFor } from '../catalog/snapshot.ts';
import type { RequestContext, Target } from '../proxy/context.ts';
import type { ProxyRuntime } from '../proxy/runtime.ts';
import { requestField } from '../proxy/request-headers.ts';
import type { CacheRequest, CachedRoute } from './cache.ts';
import { wantsBypass } from './cache.ts';
import { selectSessionRule } from './cache-session-rule.ts';
import { cacheRestrictionViolation, REPLAY_CACHE_MIN_TTL_SECONDS, type ReplayDirective } from './directive.ts';


export function lookupReplayCache(
  rt: ProxyRuntime,
  ctx: RequestContext,
  target: Target,
  sessionRules: readonly ReplayCacheRule[],
): Target {
  // A constant-time check: stats() would sweep every entry on every request.
  if (rt.cache.size === 0) return target;
  const request = cacheRequest(ctx);
  const entry = rt.cache.lookup(target.app.name, request, sessionRules);
  if (entry === null) return target;
  if (entry.allowBypass && wantsBypass(request)) {
    ctx.cacheBypass = true;
    return target;
  }
  const route = entry.route;
  const app = route.app === null ? target.app : ctx.snapshot.app(route.app);
  if (app === undefined) {
    // The cached target app is gone: forget the entry and ask the app again.
    rt.cache.invalidate(entry.key);
    return target;
  }
  // The cached decision stands in for the origin's replay, so it replaces the client's routing
  // headers as a replay would (spec §4 leaves the precedence [UNDOC]; docs/replay.md).
  const hit: Target = {
    ...target,
    app,
    regions: route.regions === null ? null : rt.regions.expand(route.regions),
    regionsOnly: route.regions !== null,
    instance: route.instance,
    preferInstance: route.preferInstance,
    headers: ['fly-replay-cache-status', 'hit'],
    cacheKey: entry.key,
    uncached: target,
  };
  return hit;
}

/**
 * storeReplayCache stores a replay decision if the directive or a session rule asks for it, and
 * returns the entry's key. A decision that asks for caching but may not be cached (spec §5.4: no
 * `state`, `transform`, `timeout` or `fallback`; spec §5.1: a TTL of at least 10 s, a pattern
 * that matches the request) is not stored, and a log line names the rule it broke.
 */
export function storeReplayCache(
  rt: ProxyRuntime,
  ctx: RequestContext,
  source: App,
  directive: ReplayDirective,
  machine: Machine,
): string | null {
  const cache = directive.cache;
  const pathEntry = cache !== null && cache.prefix !== null;
  const rules = pathEntry ? [] : (serviceFor(machine, ctx.publicPort)?.port.http_options?.replay_cache ?? []);
  // The usual replay asks for no caching and its port has no session rules.
  if (!pathEntry && rules.length === 0) return null;
  const request = cacheRequest(ctx);
  const refuse = (rule: string, detail: string | null): null => {
    rt.logger.warn({ request: ctx.id, machine: machine.id, app: source.name, rule, detail }, 'replay not cached');
    return null;
  };
  const violation = cacheRestrictionViolation(directive);
  const why =
    violation === 'ttl_below_minimum'
      ? `the TTL is below ${REPLAY_CACHE_MIN_TTL_SECONDS} s (spec §5.1)`
      : `a cached replay may not have ${violation} (spec §5.4)`;
  if (cache !== null && cache.prefix !== null) {
    if (violation !== null) return refuse(violation, why);
    if (cache.ttlSeconds === null) return refuse('ttl-missing', 'fly-replay-cache needs fly-replay-cache-ttl-secs');
    const { prefix, ttlSeconds, allowBypass } = cache;
    const stored = rt.cache.storePath(source.name, request, prefix, ttlSeconds, allowBypass, routeOf(directive));
    if ('rejected' in stored) return refuse(stored.rule, stored.detail);
    return stored.key;
  }
  if (violation !== null) {
    if (selectSessionRule(rules, request.host, request.path) === null) return null;
    return refuse(violation, why);
  }
  return rt.cache.storeSession(source.name, request, rules, routeOf(directive))?.key ?? null;
}

function routeOf(directive: ReplayDirective): CachedRoute {
  return {
    app: directive.app,
    regions: directive.regions,
    instance: directive.instance,
    preferInstance: directive.preferInstance,
    elsewhere: directive.elsewhere,
  };
}

function cacheRequest(ctx: RequestContext): CacheRequest {
  const q = ctx.url.indexOf('?');
  return {
    host: ctx.host,
    path: q === -1 ? ctx.url : ctx.url.slice(0, q),
    // Only session rules read the client's fields: they are looked up then, not before.
    header: (name) => requestField(ctx.exchange.head.headers, name),
  };
}
