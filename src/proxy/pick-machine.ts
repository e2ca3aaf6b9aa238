/**
 * pickMachine chooses the machine for one delivery attempt: the balancer's candidates for the
 * target (spec §8.2), narrowed by instance targets, `elsewhere` and machines already tried;
 * a stopped machine is started and the request held until it accepts connections (spec §9);
 * when every machine is at its hard limit the request waits in the queue (spec §8.2.5).
 */
import { performance } from 'node:perf_hooks';
import { atHardLimit, candidates, type CandidateQuery, type MachineView } from '../balancer/candidates.ts';
import { serviceFor, SOFT_LIMIT_DEFAULT } from '../catalog/snapshot.ts';
import type { Machine, Service } from '../catalog/types.ts';
import type { RequestContext, Target } from './context.ts';
import { ProxyError } from './errors.ts';
import type { ProxyRuntime } from './runtime.ts';

export interface Pick {
  machine: Machine;
  service: Service;
  /** The preferred instance that could not take the request (spec §1.5), if any. */
  preferredUnavailable: string | null;
}

/** MAX_HELD_REQUESTS bounds the requests held while machines start, node-wide. */
export const MAX_HELD_REQUESTS = 1000;
let held = 0;

export async function pickMachine(
  rt: ProxyRuntime,
  ctx: RequestContext,
  target: Target,
  tried: ReadonlySet<string>,
  lastError: ProxyError | null,
): Promise<Pick> {
  for (;;) {
    const snapshot = rt.catalog.snapshot;
    const services = new Map<string, Service>();
    const views: MachineView[] = [];
    for (const machine of snapshot.machinesOf(target.app.name)) {
      const match = serviceFor(machine, ctx.publicPort);
      if (match === undefined) continue;
      services.set(machine.id, match.service);
      views.push(viewOf(rt, machine, match.service));
    }
    if (target.instance !== null && !services.has(target.instance)) {
      throw new ProxyError('PR02', `machine "${target.instance}" is not a machine of app "${target.app.name}" on port ${ctx.publicPort}`, {
        source: 'downstream',
      });
    }
    const usable = (m: MachineView) =>
      !tried.has(m.id) && !target.exclude.has(m.id) && (target.instance === null || m.id === target.instance);
    const base = { machines: views, rtt: rt.rtt, random: rt.random };

    let preferredUnavailable: string | null = null;
    if (target.preferInstance !== null) {
      const preferred = target.preferInstance;
      const first = candidates({ ...base, accept: (m) => m.id === preferred && usable(m) }).next();
      if (first.done !== true) return wake(rt, ctx, target, first.value.machine.id, first.value.needsStart, services, null);
      preferredUnavailable = preferred;
    }

    const query: CandidateQuery = { ...base, accept: usable, regions: target.regions, regionsOnly: target.regionsOnly };
    const first = candidates(query).next();
    if (first.done !== true) {
      return wake(rt, ctx, target, first.value.machine.id, first.value.needsStart, services, preferredUnavailable);
    }
    if (atHardLimit(query)) {
      await waitWithDeadline(rt.queue.wait(target.app.name, ctx.abort.signal), target);
      continue;
    }
    throw noCandidate(target, views, tried, lastError);
  }
}

function viewOf(rt: ProxyRuntime, machine: Machine, service: Service): MachineView {
  return {
    id: machine.id,
    region: machine.region,
    state: machine.state,
    healthy: rt.health.healthy(machine.id),
    cordoned: machine.cordoned,
    load: rt.load.load(machine.id),
    softLimit: service.concurrency?.soft_limit ?? SOFT_LIMIT_DEFAULT,
    hardLimit: service.concurrency?.hard_limit ?? null,
    autostart: service.autostart !== false,
  };
}

/** wake returns the picked machine, starting it first (and holding the request) when needed. */
async function wake(
  rt: ProxyRuntime,
  ctx: RequestContext,
  target: Target,
  id: string,
  needsStart: boolean,
  services: ReadonlyMap<string, Service>,
  preferredUnavailable: string | null,
): Promise<Pick> {
  const service = services.get(id) as Service;
  if (!needsStart) {
    return { machine: rt.catalog.snapshot.machine(id) as Machine, service, preferredUnavailable };
  }
  if (held >= MAX_HELD_REQUESTS) {
    throw new ProxyError('PM09', `more than ${MAX_HELD_REQUESTS} requests are waiting for machines to start`, {
      source: 'internal',
      headers: { 'retry-after': '1' },
    });
  }
  held++;
  try {
    // Route to the machine the start returned, even before other readers see the catalog change.
    const machine = await waitWithDeadline(rt.starter.start(id), target);
    return { machine, service, preferredUnavailable };
  } finally {
    held--;
  }
}

/** waitWithDeadline bounds a wait by the target's deadline (a replay's `timeout`, spec §3). */
async function waitWithDeadline<T>(wait: Promise<T>, target: Target): Promise<T> {
  if (target.deadline === null) return wait;
  const remaining = target.deadline - performance.now();
  if (remaining <= 0) {
    wait.catch(() => {});
    throw new ProxyError('PA06', 'the replay timeout ran out before a machine could take the request', { source: 'upstream' });
  }
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ProxyError('PA06', 'the replay timeout ran out before a machine could take the request', { source: 'upstream' })),
      remaining,
    );
  });
  try {
    return await Promise.race([wait, expired]);
  } finally {
    clearTimeout(timer);
    wait.catch(() => {});
  }
}

/** noCandidate explains why nothing could take the request, most specific reason first. */
function noCandidate(target: Target, views: readonly MachineView[], tried: ReadonlySet<string>, lastError: ProxyError | null): ProxyError {
  const app = target.app.name;
  if (tried.size > 0 && lastError !== null) {
    return new ProxyError('PR03', `no machine of app "${app}" could be reached after ${tried.size} attempts`, {
      source: 'upstream',
      cause: lastError,
    });
  }
  if (target.instance !== null) {
    return new ProxyError('PR02', `machine "${target.instance}" of app "${app}" cannot take requests`, { source: 'upstream' });
  }
  if (target.regionsOnly) {
    return new ProxyError('PR04', `app "${app}" has no machine that can take requests in the requested regions`, {
      source: 'upstream',
    });
  }
  const stopped = views.filter((m) => m.state === 'stopped' || m.state === 'suspended');
  if (stopped.length > 0 && stopped.every((m) => !m.autostart) && !views.some((m) => m.state === 'started')) {
    return new ProxyError('PM06', `app "${app}" has no started machine and autostart is off`, { source: 'upstream' });
  }
  return new ProxyError('PR01', `app "${app}" has no machine that can take requests`, { source: 'upstream' });
}
