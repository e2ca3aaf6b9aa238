/**
 * Autostop is the stop loop of spec §9: every `machines.autostop_interval_ms` it looks at each
 * app's started machines, region by region, and stops or suspends at most one per region when
 * the region has more capacity than its load needs.
 *
 * Per app and region, over started, uncordoned machines whose service has `autostop` "stop" or
 * "suspend" (the region's "autostop machines"), with load = in-flight requests or connections:
 * - more than one: `excess = n − (n_over_soft + 1)`, where n_over_soft counts machines whose
 *   load is at or above their service's `soft_limit`; if excess ≥ 1, stop one (spec §9.3);
 * - exactly one: stop it only when its load is 0 and it has been quiet (no request in flight,
 *   none finished, not started) for a whole pass period, so a machine is not stopped moments
 *   after it served a request or was woken by one [UNDOC];
 * - in the app's primary region, never leave fewer started machines than the largest
 *   `min_machines_running` of those services (spec §9.4).
 * The machine stopped is the least loaded; among equally loaded ones, the one idle longest
 * (idle since its load last dropped to 0 here; a machine never loaded counts as idle the
 * longest), then the smallest id, so a pass is deterministic. [UNDOC] spec §9.6.
 */
import type { Logger } from 'pino';
import type { LoadTracker } from '../balancer/load-tracker.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { SOFT_LIMIT_DEFAULT } from '../catalog/snapshot.ts';
import type { Machine, Service } from '../catalog/types.ts';
import type { NodeConfig } from '../config/types.ts';

/** AutostopSupervisor is what autostop needs from the supervisor. */
export interface AutostopSupervisor {
  stop(id: string, options?: { signal?: string; timeoutMs?: number }): Promise<void>;
  suspend(id: string): Promise<void>;
}

export interface AutostopOptions {
  catalog: Catalog;
  supervisor: AutostopSupervisor;
  load: LoadTracker;
  config: NodeConfig;
  logger: Logger;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** AutostopResult lists the machines one pass stopped and suspended. */
export interface AutostopResult {
  stopped: string[];
  suspended: string[];
}

/** Candidate is one autostop machine of a region, with the settings of its autostop service. */
interface Candidate {
  machine: Machine;
  mode: 'stop' | 'suspend';
  softLimit: number;
  minRunning: number;
  load: number;
  /** When the machine last started or last finished a request (-Infinity: never seen). */
  quietSince: number;
}

/** Decision is what one region's pass decided. */
interface Decision {
  candidate: Candidate;
  reason: 'excess capacity' | 'idle';
  machines: number;
  overSoft: number;
}

export class Autostop {
  #catalog: Catalog;
  #supervisor: AutostopSupervisor;
  #load: LoadTracker;
  #intervalMs: number;
  #logger: Logger;
  #now: () => number;
  #setTimer: (fn: () => void, ms: number) => unknown;
  #clearTimer: (handle: unknown) => void;
  #timer: unknown = null;
  #running = false;
  #inflight: Promise<AutostopResult> | null = null;
  /** #idleSince: when each machine's load last dropped to 0 (absent: never loaded here). */
  #idleSince = new Map<string, number>();
  #unsubscribe: (() => void) | null = null;

  constructor(options: AutostopOptions) {
    const intervalMs = options.config.machines.autostop_interval_ms;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new RangeError(`Invalid machines.autostop_interval_ms ${intervalMs}`);
    }
    this.#catalog = options.catalog;
    this.#supervisor = options.supervisor;
    this.#load = options.load;
    this.#intervalMs = intervalMs;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as NodeJS.Timeout));
    this.#trackIdle();
  }

  /** start runs `pass` every `machines.autostop_interval_ms`, the next one after the last ends. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#trackIdle();
    this.#schedule();
  }

  /** stop ends the loop; a pass in flight finishes its stops, and no further pass runs. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== null) this.#clearTimer(this.#timer);
    this.#timer = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** pass runs one autostop pass; calls while one runs share it. */
  pass(): Promise<AutostopResult> {
    this.#inflight ??= this.#pass().finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  #trackIdle(): void {
    this.#unsubscribe ??= this.#load.onRelease((machineId) => {
      if (this.#load.load(machineId) === 0) this.#idleSince.set(machineId, this.#now());
    });
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = this.#setTimer(() => {
      this.#timer = null;
      this.pass()
        .catch((error: unknown) => this.#logger.error({ err: error }, 'autostop pass failed'))
        .finally(() => this.#schedule());
    }, this.#intervalMs);
  }

  async #pass(): Promise<AutostopResult> {
    // Every decision is taken synchronously from one view of the catalog and the load counters,
    // before any stop is asked for, so a request can't slip in between a load read and its stop.
    const decisions: Decision[] = [];
    const live = new Set<string>();
    for (const app of this.#catalog.apps()) {
      const byRegion = new Map<string, Candidate[]>();
      let startedInPrimary = 0;
      for (const machine of this.#catalog.machines(app.name)) {
        live.add(machine.id);
        if (machine.state !== 'started') continue;
        if (machine.region === app.primary_region) startedInPrimary += 1;
        const candidate = this.#candidate(machine);
        if (candidate === null) continue;
        let list = byRegion.get(machine.region);
        if (list === undefined) byRegion.set(machine.region, (list = []));
        list.push(candidate);
      }
      for (const [region, candidates] of byRegion) {
        const decision = decide(candidates, this.#idleSince, this.#now() - this.#intervalMs);
        if (decision === null) continue;
        if (region === app.primary_region) {
          const minRunning = Math.max(...candidates.map((c) => c.minRunning));
          // spec §9.4: min_machines_running holds in the primary region only.
          if (startedInPrimary - 1 < minRunning) continue;
        }
        decisions.push(decision);
      }
    }
    for (const id of this.#idleSince.keys()) if (!live.has(id)) this.#idleSince.delete(id);

    const result: AutostopResult = { stopped: [], suspended: [] };
    await Promise.all(decisions.map((decision) => this.#act(decision, result)));
    return result;
  }

  #candidate(machine: Machine): Candidate | null {
    // Cordoned machines are outside the proxy's pool (spec §8.2.10): autostop leaves them alone.
    if (machine.cordoned) return null;
    const service = machine.config.services.find((s) => s.protocol === 'tcp' && isAutostop(s));
    if (service === undefined) return null;
    return {
      machine,
      mode: service.autostop === 'suspend' ? 'suspend' : 'stop',
      softLimit: service.concurrency?.soft_limit ?? SOFT_LIMIT_DEFAULT,
      minRunning: Math.max(0, ...machine.config.services.filter(isAutostop).map((s) => s.min_machines_running ?? 0)),
      load: this.#load.load(machine.id),
      quietSince: Math.max(
        this.#idleSince.get(machine.id) ?? Number.NEGATIVE_INFINITY,
        machine.events.find((event) => event.status === 'started')?.timestamp ?? Number.NEGATIVE_INFINITY,
      ),
    };
  }

  async #act(decision: Decision, result: AutostopResult): Promise<void> {
    const { machine, mode, load } = decision.candidate;
    this.#logger.info(
      {
        machine: machine.id,
        app: machine.app,
        region: machine.region,
        reason: decision.reason,
        mode,
        load,
        machines: decision.machines,
        over_soft_limit: decision.overSoft,
      },
      'autostop: stopping machine',
    );
    try {
      // The supervisor applies stop_config (kill_signal, kill_timeout) when no options are given.
      if (mode === 'suspend') await this.#supervisor.suspend(machine.id);
      else await this.#supervisor.stop(machine.id);
      (mode === 'suspend' ? result.suspended : result.stopped).push(machine.id);
    } catch (error) {
      this.#logger.warn({ machine: machine.id, app: machine.app, region: machine.region, mode, err: error }, 'autostop: machine did not stop');
    }
  }
}

function isAutostop(service: Service): boolean {
  return service.autostop === 'stop' || service.autostop === 'suspend';
}

/**
 * decide picks the machine to stop in one region, or null (spec §9.3). Pure: values in, value
 * out; `idleSince` is only read. A lone machine must have been quiet since `quietBefore`.
 */
function decide(candidates: readonly Candidate[], idleSince: ReadonlyMap<string, number>, quietBefore: number): Decision | null {
  const n = candidates.length;
  const overSoft = candidates.filter((c) => c.load >= c.softLimit).length;
  if (n === 1) {
    const [only] = candidates;
    return only.load === 0 && only.quietSince <= quietBefore ? { candidate: only, reason: 'idle', machines: 1, overSoft } : null;
  }
  if (n - (overSoft + 1) < 1) return null;
  const idle = (c: Candidate): number => idleSince.get(c.machine.id) ?? Number.NEGATIVE_INFINITY;
  const [chosen] = [...candidates].sort(
    (a, b) => a.load - b.load || idle(a) - idle(b) || (a.machine.id < b.machine.id ? -1 : a.machine.id > b.machine.id ? 1 : 0),
  );
  return { candidate: chosen, reason: 'excess capacity', machines: n, overSoft };
}
