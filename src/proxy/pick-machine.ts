/**
 * pickMachine chooses the machine for one delivery attempt: the balancer's candidates for the
 * target (spec §8.2), narrowed by instance targets, `elsewhere` and machines already tried;
 * a stopped machine is started and the request held until it accepts connections (spec §9);
 * when every machine is at its hard limit the request waits in the queue of its app and public
 * port (spec §8.2.5). docs/load-balancing.md describes the whole.
 */
import { performance } from 'node:perf_hooks';
import { atHardLimit, candidates, type Candidate, type CandidateQuery, type MachineView } from '../balancer/candidates.ts';
import { serviceFor, SOFT_LIMIT_DEFAULT, type ServiceMatch } from '../catalog/snapshot.ts';
import type { Machine, Service, ServicePort } from '../catalog/types.ts';
import type { RequestContext, Target } from './context.ts';
import { ProxyError } from './errors.ts';
import type { ProxyRuntime } from './runtime.ts';

export interface Pick {
  machine: Machine;
  service: Service;
  /** The service's entry for the request's public port (its `http_options`). */
  port: ServicePort;
  /** The preferred instance that could not take the request (spec §1.5), if any. */
  preferredUnavailable: string | null;
}

/**
 * START_FAILURES_TRIED_NEXT are the start failures after which the next candidate is tried: the
 * machine cannot run or cannot start from its state. A start that timed out (PM03) already
 * held its requests for `start_timeout_ms`, so it fails them rather than hold them once more.
 */
const START_FAILURES_TRIED_NEXT: ReadonlySet<string> = new Set(['PM05', 'PM08']);

/** held counts, per node (runtime), the requests waiting for machines to start (spec §9). */
const held = new WeakMap<ProxyRuntime, number>();

/** hardLimitKey names the hard-limit queue of one app and public port (spec §8.2.5). */
export function hardLimitKey(app: string, publicPort: number): string {
  return `${app}:${publicPort}`;
}

/**
 * notifyCapacity wakes the oldest request of each hard-limit queue that may have gained a slot:
 * the queues `machineId` serves after one of its requests finished, or every queue after a
 * catalog change (a machine started, passed its checks or was uncordoned).
 */
export function notifyCapacity(rt: ProxyRuntime, machineId?: string): void {
  const keys = rt.queue.keys();
  if (keys.length === 0) return;
  const machine = machineId === undefined ? undefined : rt.catalog.get(machineId);
  if (machineId !== undefined && machine === undefined) return;
  for (const key of keys) {
    const colon = key.lastIndexOf(':');
    const serves = machine === undefined || (machine.app === key.slice(0, colon) && serviceFor(machine, Number(key.slice(colon + 1))) !== undefined);
    if (serves) rt.queue.notify(key);
  }
}

/**
 * pickMachine returns the machine for one delivery attempt, after waking it or waiting at the
 * hard limit if need be. It throws a ProxyError when no machine can take the request: PR01,
 * PR02, PR03, PR04, PM05, PM06 (nothing to try), PM03, PM09 (a wake), PL02 (the queue), PA06
 * (the replay deadline) or RC03 (the client went away while waiting).
 *
 * The commonest case is answered at once, not through a promise: one machine on the port that
 * can take the request now (soleCandidate).
 */
export function pickMachine(
  rt: ProxyRuntime,
  ctx: RequestContext,
  target: Target,
  tried: ReadonlySet<string>,
  lastError: ProxyError | null,
): Pick | Promise<Pick> {
  return soleCandidate(rt, ctx, target, tried) ?? pickAmong(rt, ctx, target, tried, lastError);
}

async function pickAmong(
  rt: ProxyRuntime,
  ctx: RequestContext,
  target: Target,
  tried: ReadonlySet<string>,
  lastError: ProxyError | null,
): Promise<Pick> {
  const failedStarts = new Map<string, ProxyError>();
  const queueKey = hardLimitKey(target.app.name, ctx.publicPort);
  /** performance.now() when this request first queued at the hard limit, or null. */
  let queuedAt: number | null = null;
  for (;;) {
    const services = new Map<string, ServiceMatch>();
    const views: MachineView[] = [];
    for (const { machine, service, port } of rt.catalog.snapshot.machinesOnPort(target.app.name, ctx.publicPort)) {
      services.set(machine.id, { service, port });
      views.push(viewOf(rt, machine, service));
    }
    if (target.instance !== null && !services.has(target.instance)) {
      throw new ProxyError('PR02', `machine "${target.instance}" is not a machine of app "${target.app.name}" on port ${ctx.publicPort}`, {
        source: 'downstream',
      });
    }
    const usable = (m: MachineView) =>
      !tried.has(m.id) &&
      !failedStarts.has(m.id) &&
      !target.exclude.has(m.id) &&
      (target.instance === null || m.id === target.instance);
    const base = { machines: views, rtt: rt.rtt, random: rt.random };

    let preferredUnavailable: string | null = null;
    let next: Candidate | undefined;
    if (target.preferInstance !== null) {
      const preferred = target.preferInstance;
      next = firstOf(candidates({ ...base, accept: (m) => m.id === preferred && usable(m) }));
      if (next === undefined) preferredUnavailable = preferred;
    }
    const query: CandidateQuery = { ...base, accept: usable, regions: target.regions, regionsOnly: target.regionsOnly };
    next ??= firstOf(candidates(query));
    if (next !== undefined) {
      // A request woken from the queue that found a slot lets the next one look too, once this
      // one's load is counted (forward acquires it in this same turn of the event loop).
      if (queuedAt !== null) setImmediate(() => rt.queue.notify(queueKey));
      try {
        return await wake(rt, target, next, services, preferredUnavailable);
      } catch (error) {
        if (!(error instanceof ProxyError) || !START_FAILURES_TRIED_NEXT.has(error.code)) throw error;
        rt.logger.warn({ request: ctx.id, machine: next.machine.id, code: error.code }, 'machine failed to start, trying another');
        failedStarts.set(next.machine.id, error);
        continue;
      }
    }
    if (atHardLimit(query)) {
      // spec §8.2.5: wait for a slot. A request woken without finding one keeps its place at
      // the head of the queue and its first deadline.
      const waitedMs = queuedAt === null ? 0 : performance.now() - queuedAt;
      queuedAt ??= performance.now();
      const maxWaitMs = rt.config.proxy.queue_max_wait_ms;
      const before = rt.queue.size(queueKey);
      const waiting = rt.queue.wait(queueKey, ctx.cancel.signal, { waitMs: maxWaitMs - waitedMs, front: waitedMs > 0 });
      if (rt.queue.size(queueKey) > before) {
        rt.logger.debug({ request: ctx.id, queue: queueKey, waiting: before + 1 }, 'request queued at hard limit');
      }
      await waitWithDeadline(waiting, target).catch((error: unknown) => {
        if (!ctx.cancel.cancelled) throw error;
        throw new ProxyError('RC03', 'the client went away while its request waited at the hard limit', { source: 'downstream', cause: error });
      });
      continue;
    }
    const startFailure = [...failedStarts.values()].at(-1);
    if (startFailure !== undefined) throw startFailure;
    throw noCandidate(target, views, tried, lastError);
  }
}

/**
 * soleCandidate is the balancer's answer, without the balancer, in the commonest case: an
 * unconstrained first attempt at an app with one machine on the port that can take the request
 * now. Anything else (several machines, a wake, a queue, a replay's constraints) returns null.
 */
function soleCandidate(rt: ProxyRuntime, ctx: RequestContext, target: Target, tried: ReadonlySet<string>): Pick | null {
  if (tried.size > 0 || target.instance !== null || target.preferInstance !== null || target.regions !== null || target.exclude.size > 0) {
    return null;
  }
  const list = rt.catalog.snapshot.machinesOnPort(target.app.name, ctx.publicPort);
  if (list.length !== 1) return null;
  const { machine, service, port } = list[0];
  const hard = service.concurrency?.hard_limit;
  if (machine.state !== 'started' || machine.cordoned || !rt.health.healthy(machine.id)) return null;
  if (hard !== undefined && rt.load.load(machine.id) >= hard) return null;
  return { machine, service, port, preferredUnavailable: null };
}

function firstOf(ranked: Generator<Candidate>): Candidate | undefined {
  const first = ranked.next();
  return first.done === true ? undefined : first.value;
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

/**
 * wake returns the picked machine, starting it first when needed: the request is held, bounded
 * in number (`machines.max_held_requests`, PM09) and in time (`machines.start_timeout_ms`, PM03,
 * or the replay deadline), and goes to the machine the start returned, even before every
 * reader of the catalog has seen it started (spec §9 Start 5).
 */
async function wake(
  rt: ProxyRuntime,
  target: Target,
  candidate: Candidate,
  services: ReadonlyMap<string, ServiceMatch>,
  preferredUnavailable: string | null,
): Promise<Pick> {
  const id = candidate.machine.id;
  const { service, port } = services.get(id) as ServiceMatch;
  if (!candidate.needsStart) {
    return { machine: rt.catalog.snapshot.machine(id) as Machine, service, port, preferredUnavailable };
  }
  const count = held.get(rt) ?? 0;
  const max = rt.config.machines.max_held_requests;
  if (count >= max) {
    throw new ProxyError('PM09', `more than ${max} requests are waiting for machines to start`, {
      source: 'internal',
      headers: { 'retry-after': '1' },
    });
  }
  held.set(rt, count + 1);
  rt.logger.debug({ machine: id, state: candidate.machine.state, held: count + 1 }, 'request held for machine start');
  try {
    // The supervisor's start is single-flight per machine: every held request shares one wake.
    const machine = await waitWithDeadline(rt.starter.start(id), target);
    return { machine, service, port, preferredUnavailable };
  } finally {
    held.set(rt, (held.get(rt) ?? 1) - 1);
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
