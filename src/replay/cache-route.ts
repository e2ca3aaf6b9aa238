/**
 * lookupReplayCache and storeReplayCache connect the replay cache (cache.ts) to the pipeline:
 * a hit aims the first hop straight at the cached target with `fly-replay-cache-status: hit`
 * and no `fly-replay-src` (spec §5.3, §5.4); a bypass sends the request to the app as usual and
 * marks its replay `bypass`; a replay from the first app is stored when it asked for caching.
 */
import type { App, Machine, ReplayCacheRule } from '../catalog/types.ts';
import { serviceFor } from '../catalog/snapshot.ts';
import type { RequestContext, Target } from '../proxy/context.ts';
import type { ProxyRuntime } from '../proxy/runtime.ts';
import type { CacheRequest, CachedRoute } from './cache.ts';
import { wantsBypass } from './cache.ts';
import type { ReplayDirective } from './directive.ts';

export function lookupReplayCache(
  rt: ProxyRuntime,
  ctx: RequestContext,
  target: Target,
  sessionRules: readonly ReplayCacheRule[],
): Target {
  if (rt.cache.stats().entries === 0) return target;
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
  return {
    ...target,
    app,
    regions: route.regions === null ? null : rt.regions.expand(route.regions),
    regionsOnly: false,
    instance: route.instance,
    preferInstance: route.preferInstance,
    headers: ['fly-replay-cache-status', 'hit'],
    cacheKey: entry.key,
  };
}

/** storeReplayCache stores a replay decision if the directive or a session rule asks for it. */
export function storeReplayCache(
  rt: ProxyRuntime,
  ctx: RequestContext,
  source: App,
  directive: ReplayDirective,
  machine: Machine,
): string | null {
  const route: CachedRoute = {
    app: directive.app,
    regions: directive.regions,
    instance: directive.instance,
    preferInstance: directive.preferInstance,
    elsewhere: directive.elsewhere,
  };
  const request = cacheRequest(ctx);
  const cache = directive.cache;
  if (cache !== null && cache.prefix !== null) {
    const stored = rt.cache.storePath(source.name, request, cache.prefix, cache.ttlSeconds ?? 0, cache.allowBypass, route);
    if ('rejected' in stored) {
      rt.logger.warn({ request: ctx.id, machine: machine.id, rule: stored.rule }, 'replay not cached');
      return null;
    }
    return stored.key;
  }
  const rules = serviceFor(machine, ctx.publicPort)?.port.http_options?.replay_cache ?? [];
  if (rules.length === 0) return null;
  return rt.cache.storeSession(source.name, request, rules, route)?.key ?? null;
}

function cacheRequest(ctx: RequestContext): CacheRequest {
  const q = ctx.url.indexOf('?');
  const headers = ctx.req.headers;
  return {
    host: ctx.host,
    path: q === -1 ? ctx.url : ctx.url.slice(0, q),
    header: (name) => {
      const value = headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
