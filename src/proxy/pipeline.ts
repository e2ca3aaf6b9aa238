/**
 * handleRequest is the life of a request, top to bottom (docs/phases.md charts it):
 *
 *   resolveTarget  Host + port -> app; force_https; client routing headers; replay-cache lookup
 *   loop:
 *     deliver      pick a machine (balancer, autostart, hard-limit queue), forward, retry on
 *                  connection failures, fall back when a replay cannot reach its target
 *     planReplay   the machine answered `fly-replay`: check it, maybe cache it, aim the next hop
 *   respondError   the one place an error becomes a response
 *   logAccess      one JSON line per request
 */
import { performance } from 'node:perf_hooks';
import { hasHandler, serviceFor } from '../catalog/snapshot.ts';
import type { Machine } from '../catalog/types.ts';
import { planReplay, type ReplayResponse } from '../replay/plan.ts';
import { formatReplayFailed } from '../replay/replay-src.ts';
import type { RequestContext, Target } from './context.ts';
import { ProxyError, toProxyError, type ErrorCode } from './errors.ts';
import { forwardHttp } from './forward-http.ts';
import { forwardUpgrade } from './forward-upgrade.ts';
import { pickMachine } from './pick-machine.ts';
import { buildUpstreamHeaders } from './upstream-headers.ts';
import { logAccess } from './access-log.ts';
import { respondError, respondRedirect } from './respond.ts';
import { lookupReplayCache } from '../replay/cache-route.ts';
import type { ProxyRuntime } from './runtime.ts';

export async function handleRequest(rt: ProxyRuntime, ctx: RequestContext): Promise<void> {
  try {
    let target = resolveTarget(rt, ctx);
    for (let hops = 0; target !== null; hops++) {
      const replay = await deliver(rt, ctx, target);
      target = replay === null ? null : planReplay(rt, ctx, target, replay, hops + 1);
    }
  } catch (error) {
    respondError(rt, ctx, toProxyError(error));
  } finally {
    logAccess(rt, ctx);
  }
}

/**
 * resolveTarget finds the app for the Host header and the public port, answers force_https
 * with a redirect (spec §7.3), and aims the first hop using the client's routing headers
 * (spec §4) or a cached replay (spec §5). Returns null when the request is already answered.
 */
function resolveTarget(rt: ProxyRuntime, ctx: RequestContext): Target | null {
  const app = ctx.snapshot.appForHost(ctx.host);
  if (app === undefined) throw new ProxyError('RC01', `no app is configured for host "${ctx.host}"`, { source: 'downstream' });
  ctx.app = app;
  const machines = ctx.snapshot.machinesOf(app.name);
  const match = machines.length === 0 ? undefined : firstServiceMatch(machines, ctx.publicPort);
  if (match === undefined) {
    throw new ProxyError('RC02', `app "${app.name}" has no service on port ${ctx.publicPort}`, { source: 'downstream' });
  }
  if (match.port.force_https === true && hasHandler(match.port, 'http')) {
    respondRedirect(ctx, `https://${ctx.host}${ctx.url}`);
    return null;
  }
  const hints = ctx.headers.hints;
  const target: Target = {
    app,
    regions: null,
    regionsOnly: false,
    instance: hints.forceInstance,
    preferInstance: hints.forceInstance === null ? hints.preferInstance : null,
    exclude: new Set(),
    headers: [],
    transform: null,
    deadline: null,
    fallback: null,
    isFallback: false,
    replayedBy: null,
    cacheKey: null,
  };
  if (hints.forceRegion !== null) {
    target.regions = rt.regions.expand(splitList(hints.forceRegion));
    target.regionsOnly = true;
  } else if (hints.preferRegion !== null) {
    target.regions = rt.regions.expand(splitList(hints.preferRegion));
  }
  return lookupReplayCache(rt, ctx, target, match.port.http_options?.replay_cache ?? []);
}

function firstServiceMatch(machines: readonly Machine[], port: number) {
  for (const machine of machines) {
    const match = serviceFor(machine, port);
    if (match !== undefined) return match;
  }
  return undefined;
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
}

/**
 * deliver sends the request to a machine of the target and either streams the answer to the
 * client (null) or returns the machine's replay. When a replay cannot reach its target and it
 * named a fallback, the request goes back to the replaying machine (spec §3).
 */
async function deliver(rt: ProxyRuntime, ctx: RequestContext, target: Target): Promise<ReplayResponse | null> {
  const started = performance.now();
  try {
    return await deliverWithRetries(rt, ctx, target);
  } catch (error) {
    const failure = toProxyError(error);
    const reason = unreachableReason(failure.code);
    if (target.fallback === null || reason === null || ctx.responded) throw failure;
    const { fallback } = target;
    rt.logger.info(
      { request: ctx.id, code: failure.code, app: target.app.name, fallback: fallback.mode },
      'replay target unreachable, falling back to the replaying machine',
    );
    const failed = formatReplayFailed({
      instance: target.instance ?? target.preferInstance,
      app: target.app.name,
      region: regionOf(target),
      replaySource: fallback.machine.id,
      reason,
      elapsedMs: Math.round(performance.now() - started),
    });
    return deliverWithRetries(rt, ctx, {
      ...target,
      app: fallback.app,
      regions: null,
      regionsOnly: false,
      instance: fallback.mode === 'force_self' ? fallback.machine.id : null,
      preferInstance: fallback.mode === 'prefer_self' ? fallback.machine.id : null,
      exclude: new Set(),
      headers: ['fly-replay-failed', failed],
      transform: null,
      deadline: null,
      fallback: null,
      isFallback: true,
    });
  }
}

async function deliverWithRetries(rt: ProxyRuntime, ctx: RequestContext, target: Target): Promise<ReplayResponse | null> {
  const tried = new Set<string>();
  let lastError: ProxyError | null = null;
  for (let attempt = 0; attempt < rt.config.proxy.max_attempts; attempt++) {
    const pick = await pickMachine(rt, ctx, target, tried, lastError);
    tried.add(pick.machine.id);
    const headers = buildUpstreamHeaders(rt, ctx, target, pick);
    try {
      const forward = ctx.socket === null ? forwardHttp : forwardUpgrade;
      return await forward(rt, ctx, target, pick.machine, pick.service, headers);
    } catch (error) {
      const failure = toProxyError(error);
      // Retry only when the machine never saw the request and the body can be sent again.
      if (!failure.retryable || ctx.responded || (ctx.body !== null && !ctx.body.rewindable)) throw failure;
      rt.logger.warn({ request: ctx.id, machine: pick.machine.id, code: failure.code }, 'machine unreachable, trying another');
      lastError = failure;
    }
  }
  throw new ProxyError('PR03', `no machine of app "${target.app.name}" could be reached after ${tried.size} attempts`, {
    source: 'upstream',
    cause: lastError,
  });
}

/** unreachableReason maps an error to a `fly-replay-failed` reason, or null if a machine was reached. */
function unreachableReason(code: ErrorCode): 'timeout' | 'retries_exhausted' | 'no_candidate' | null {
  switch (code) {
    case 'PA06':
    case 'PM03':
    case 'PC05':
      return 'timeout';
    case 'PR03':
    case 'PC01':
    case 'PC03':
      return 'retries_exhausted';
    case 'PR01':
    case 'PR02':
    case 'PR04':
    case 'PM05':
    case 'PM06':
    case 'PM08':
    case 'PM09':
    case 'PL02':
      return 'no_candidate';
    default:
      return null;
  }
}

function regionOf(target: Target): string | null {
  const first = target.regions?.[0];
  return first !== undefined && first.kind === 'regions' ? first.regions.join(',') : null;
}
