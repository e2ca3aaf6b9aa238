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
import { hasHandler } from '../catalog/snapshot.ts';
import type { Machine } from '../catalog/types.ts';
import { planReplay, type ReplayResponse } from '../replay/plan.ts';
import { formatReplayFailed } from '../replay/replay-src.ts';
import { NO_MACHINES, type RequestContext, type Target } from './context.ts';
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
      const delivered = await deliver(rt, ctx, target);
      // Plan from the target actually delivered to: a fallback's replay is refused (spec §3.5).
      target = delivered === null ? null : planReplay(rt, ctx, delivered.target, delivered.replay, hops + 1);
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
  const match = ctx.snapshot.machinesOnPort(app.name, ctx.publicPort)[0];
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
    exclude: NO_MACHINES,
    headers: [],
    transform: null,
    deadline: null,
    fallback: null,
    isFallback: false,
    replayedBy: null,
    cacheKey: null,
    uncached: null,
  };
  if (hints.forceRegion !== null) {
    target.regions = rt.regions.expand(splitList(hints.forceRegion));
    target.regionsOnly = true;
  } else if (hints.preferRegion !== null) {
    target.regions = rt.regions.expand(splitList(hints.preferRegion));
  }
  return lookupReplayCache(rt, ctx, target, match.port.http_options?.replay_cache ?? []);
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
}

/**
 * deliver sends the request to a machine of the target and either streams the answer to the
 * client (null) or returns the machine's replay with the target it was delivered to. When a
 * replay cannot reach its target and it named a fallback, the request goes back to the
 * replaying machine (spec §3); when a cached replay's target cannot be reached, the request goes
 * to the origin app instead.
 */
async function deliver(rt: ProxyRuntime, ctx: RequestContext, target: Target): Promise<Delivered | null> {
  const started = performance.now();
  const attempt: LastAttempt = { machine: null };
  try {
    const replay = await deliverWithRetries(rt, ctx, target, attempt);
    return replay === null ? null : { target, replay };
  } catch (error) {
    const failure = toProxyError(error);
    const reason = unreachableReason(failure.code);
    const uncached = target.uncached;
    if (uncached !== null && reason !== null && !ctx.responded) {
      // A cached decision whose target is gone: forget it and ask the origin app (spec §5).
      rt.cache.invalidate(target.cacheKey ?? '');
      rt.logger.info(
        { request: ctx.id, code: failure.code, key: target.cacheKey },
        'cached replay target unreachable, asking the origin app',
      );
      return deliver(rt, ctx, uncached);
    }
    if (target.fallback === null || reason === null || ctx.responded) throw failure;
    const { fallback } = target;
    rt.logger.info(
      { request: ctx.id, code: failure.code, app: target.app.name, fallback: fallback.mode },
      'replay target unreachable, falling back to the replaying machine',
    );
    // spec §3.4: the target machine and its region, when one was chosen.
    const chosen = attempt.machine ?? (target.instance === null ? undefined : rt.catalog.snapshot.machine(target.instance));
    const failed = formatReplayFailed({
      instance: chosen?.id ?? target.instance,
      app: target.app.name,
      region: chosen?.region ?? regionOf(target),
      replaySource: fallback.machine.id,
      reason,
      elapsedMs: Math.round(performance.now() - started),
    });
    const fallbackTarget: Target = {
      ...target,
      app: fallback.app,
      regions: null,
      regionsOnly: false,
      instance: fallback.mode === 'force_self' ? fallback.machine.id : null,
      preferInstance: fallback.mode === 'prefer_self' ? fallback.machine.id : null,
      exclude: NO_MACHINES,
      headers: ['fly-replay-failed', failed],
      transform: null,
      deadline: null,
      fallback: null,
      isFallback: true,
      uncached: null,
    };
    const replay = await deliverWithRetries(rt, ctx, fallbackTarget, { machine: null });
    return replay === null ? null : { target: fallbackTarget, replay };
  }
}

/** Delivered is a machine's replay and the target whose delivery it answered. */
interface Delivered {
  target: Target;
  replay: ReplayResponse;
}

/** LastAttempt records the machine a delivery last tried, for `fly-replay-failed` (spec §3.4). */
interface LastAttempt {
  machine: Machine | null;
}

async function deliverWithRetries(
  rt: ProxyRuntime,
  ctx: RequestContext,
  target: Target,
  last: LastAttempt,
): Promise<ReplayResponse | null> {
  /** Machines that failed this delivery; made on the first failure, as most deliveries have none. */
  let tried: Set<string> | null = null;
  let lastError: ProxyError | null = null;
  for (let attempt = 0; attempt < rt.config.proxy.max_attempts; attempt++) {
    // A replay's `timeout` also bounds retries, not only waits for a start (spec §3.1).
    if (attempt > 0 && target.deadline !== null && performance.now() >= target.deadline) {
      throw new ProxyError('PA06', 'the replay timeout ran out before a machine could take the request', {
        source: 'upstream',
        cause: lastError,
      });
    }
    const picked = pickMachine(rt, ctx, target, tried ?? NO_MACHINES, lastError);
    const pick = picked instanceof Promise ? await picked : picked;
    last.machine = pick.machine;
    const headers = buildUpstreamHeaders(rt, ctx, target, pick);
    try {
      const forward = ctx.socket === null ? forwardHttp : forwardUpgrade;
      return await forward(rt, ctx, pick, headers);
    } catch (error) {
      const failure = toProxyError(error);
      // Retry only when the machine never saw the request and the body can be sent again.
      if (!failure.retryable || ctx.responded || (ctx.body !== null && !ctx.body.rewindable)) throw failure;
      rt.logger.warn({ request: ctx.id, machine: pick.machine.id, code: failure.code }, 'machine unreachable, trying another');
      lastError = failure;
      // A pinned machine (`instance=`, `fly-force-instance-id`) is tried again rather than
      // skipped: there is no other to go to (spec §4: "will attempt to reach the Machine multiple times").
      if (target.instance === null) (tried ??= new Set()).add(pick.machine.id);
    }
  }
  const attempts = rt.config.proxy.max_attempts;
  throw new ProxyError('PR03', `no machine of app "${target.app.name}" could be reached after ${attempts} attempts`, {
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
