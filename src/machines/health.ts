/**
 * HealthMonitor runs the service-level checks of every started machine (spec §10) and answers
 * `healthy(machineId)` for the balancer on every request.
 *
 * - A machine is unhealthy only while one of its service checks is `critical`; a machine without
 *   service checks, or not started, is healthy (routing already skips machines not started).
 * - Each check starts once its `grace_period` has passed since the machine was seen started,
 *   then runs every `interval`; each run is bounded by `timeout`. A failure inside the grace
 *   period does not count (spec §10 table).
 * - A check's first result and every change of status are one log line (`machine health
 *   changed`) and one write of the machine record's `checks`; a check that keeps passing writes
 *   nothing.
 * - Top-level `config.checks` are not run: they never affect routing (spec §10.2), and Ricochet
 *   reports no status for them.
 * - At most HEALTH_MAX_CONCURRENT_CHECKS probes run at once; the rest wait their turn.
 */
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import type { Machine, MachineCheckStatus, ServiceCheck } from '../catalog/types.ts';
import { CHECK_DEFAULTS } from '../config/service-schema.ts';
import { parseDurationMs } from '../replay/duration.ts';
import { healthProbe, type ProbeResult } from './health-probe.ts';

/** HEALTH_MAX_CONCURRENT_CHECKS bounds the probes in flight across all machines. */
export const HEALTH_MAX_CONCURRENT_CHECKS = 32;
/** HEALTH_INTERVAL_MIN_MS is the shortest interval a check runs at, whatever its config says. */
export const HEALTH_INTERVAL_MIN_MS = 1_000;
/** HEALTH_TIMEOUT_MAX_MS is the longest a single probe may take. */
export const HEALTH_TIMEOUT_MAX_MS = 60_000;

export type CheckStatus = 'unknown' | 'passing' | 'critical';

export interface HealthMonitorOptions {
  records: Catalog;
  logger: Logger;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** CheckState is one service check of one tracked machine. */
interface CheckState {
  name: string;
  check: ServiceCheck;
  internalPort: number;
  port: number | undefined;
  intervalMs: number;
  timeoutMs: number;
  graceMs: number;
  status: CheckStatus;
  timer: unknown;
  flight: Promise<void> | null;
  abort: AbortController | null;
}

/** Tracked is a started machine with service checks, as of one start (its fingerprint). */
interface Tracked {
  id: string;
  app: string;
  host: string;
  fingerprint: string;
  startedAt: number;
  checks: CheckState[];
}

/** CheckCancelled is the abort reason when a check's machine stops or the monitor stops. */
class CheckCancelled extends Error {
  readonly code = 'CHECK_CANCELLED' as const;
}

export class HealthMonitor {
  #records: Catalog;
  #logger: Logger;
  #now: () => number;
  #setTimer: (fn: () => void, ms: number) => unknown;
  #clearTimer: (handle: unknown) => void;
  #tracked = new Map<string, Tracked>();
  /** #unhealthy holds machines with at least one critical check: `healthy` is one lookup. */
  #unhealthy = new Set<string>();
  #running = false;
  #unsubscribe: (() => void) | null = null;
  #active = 0;
  #waiting: (() => void)[] = [];

  constructor(options: HealthMonitorOptions) {
    this.#records = options.records;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as NodeJS.Timeout));
  }

  /** start checks every started machine with service checks and follows catalog changes. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.#records.onChange(() => this.#syncAll());
    this.#syncAll();
    for (const tracked of this.#tracked.values()) this.#scheduleFirst(tracked);
  }

  /** stop clears every timer and aborts every probe in flight; `healthy` is then true for all. */
  stop(): void {
    this.#running = false;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    for (const id of [...this.#tracked.keys()]) this.#untrack(id);
    for (const wake of this.#waiting.splice(0)) wake();
  }

  /** healthy is false only while a started machine has a failing service check (spec §10.1). */
  healthy(machineId: string): boolean {
    return !this.#unhealthy.has(machineId);
  }

  /**
   * checkNow runs the machine's service checks once, now (after picking up its current record).
   * A probe already in flight started before the call, so its result may be stale: checkNow
   * waits for it, then probes again.
   */
  async checkNow(machineId: string): Promise<void> {
    this.#sync(machineId, this.#records.get(machineId));
    const tracked = this.#tracked.get(machineId);
    if (tracked === undefined) return;
    await Promise.all(
      tracked.checks.map(async (state) => {
        if (state.flight !== null) await state.flight;
        if (this.#tracked.get(machineId) === tracked) await this.#run(tracked, state);
      }),
    );
  }

  #syncAll(): void {
    const seen = new Set<string>();
    for (const machine of this.#records.machines()) {
      seen.add(machine.id);
      this.#sync(machine.id, machine);
    }
    for (const id of [...this.#tracked.keys()]) if (!seen.has(id)) this.#untrack(id);
  }

  /** #sync tracks a machine that is started with checks, and drops or restarts tracking otherwise. */
  #sync(id: string, machine: Machine | undefined): void {
    const current = this.#tracked.get(id);
    if (machine === undefined || machine.state !== 'started' || machine.runtime === null) {
      if (current !== undefined) this.#untrack(id);
      return;
    }
    const fingerprint = fingerprintOf(machine);
    if (current?.fingerprint === fingerprint) return;
    if (current !== undefined) this.#untrack(id);
    const checks = this.#checkStates(machine);
    if (checks.length === 0) return;
    const tracked: Tracked = {
      id,
      app: machine.app,
      host: machine.runtime.host,
      fingerprint,
      startedAt: Math.min(this.#now(), lastStartedAt(machine) ?? Number.POSITIVE_INFINITY),
      checks,
    };
    this.#tracked.set(id, tracked);
    if (this.#running) this.#scheduleFirst(tracked);
  }

  #untrack(id: string): void {
    const tracked = this.#tracked.get(id);
    if (tracked === undefined) return;
    this.#tracked.delete(id);
    this.#unhealthy.delete(id);
    for (const state of tracked.checks) {
      if (state.timer !== null) this.#clearTimer(state.timer);
      state.timer = null;
      state.abort?.abort(new CheckCancelled(`machine "${id}" is no longer checked`));
    }
  }

  #checkStates(machine: Machine): CheckState[] {
    const states: CheckState[] = [];
    for (const service of machine.config.services) {
      for (const check of service.checks ?? []) {
        const index = String(states.length).padStart(2, '0');
        const name = `servicecheck-${index}-${check.type}-${service.internal_port}`;
        const interval = this.#durationMs(machine, name, 'interval', check.interval, CHECK_DEFAULTS.interval);
        const timeout = this.#durationMs(machine, name, 'timeout', check.timeout, CHECK_DEFAULTS.timeout);
        states.push({
          name,
          check,
          internalPort: service.internal_port,
          port: machine.runtime?.ports[String(service.internal_port)],
          intervalMs: Math.max(HEALTH_INTERVAL_MIN_MS, interval),
          timeoutMs: Math.min(HEALTH_TIMEOUT_MAX_MS, Math.max(1, timeout)),
          graceMs: this.#durationMs(machine, name, 'grace_period', check.grace_period, CHECK_DEFAULTS.grace_period),
          status: 'unknown',
          timer: null,
          flight: null,
          abort: null,
        });
      }
    }
    return states;
  }

  /** #durationMs reads a check duration; a value that does not parse falls back to the default, with a warning. */
  #durationMs(machine: Machine, check: string, field: string, value: string | undefined, fallback: string): number {
    if (value !== undefined) {
      try {
        return parseDurationMs(String(value));
      } catch (error) {
        this.#logger.warn({ machine: machine.id, app: machine.app, check, field, value, err: error }, 'invalid health check duration, using the default');
      }
    }
    return parseDurationMs(fallback);
  }

  #scheduleFirst(tracked: Tracked): void {
    const delay = (state: CheckState): number => Math.max(0, tracked.startedAt + state.graceMs - this.#now());
    for (const state of tracked.checks) {
      if (state.timer === null && state.flight === null) this.#schedule(tracked, state, delay(state));
    }
  }

  #schedule(tracked: Tracked, state: CheckState, ms: number): void {
    if (!this.#running || this.#tracked.get(tracked.id) !== tracked) return;
    if (state.timer !== null) this.#clearTimer(state.timer);
    state.timer = this.#setTimer(() => {
      state.timer = null;
      void this.#run(tracked, state);
    }, ms);
  }

  /** #run probes one check, single-flight per check, then schedules the next run. */
  #run(tracked: Tracked, state: CheckState): Promise<void> {
    if (state.flight !== null) return state.flight;
    const flight = this.#probe(tracked, state)
      .catch((error: unknown) => {
        this.#logger.error({ machine: tracked.id, app: tracked.app, check: state.name, err: error }, 'health check failed to run');
      })
      .finally(() => {
        state.flight = null;
        state.abort = null;
        this.#schedule(tracked, state, state.intervalMs);
      });
    state.flight = flight;
    return flight;
  }

  async #probe(tracked: Tracked, state: CheckState): Promise<void> {
    const controller = new AbortController();
    state.abort = controller;
    await this.#acquireSlot(controller.signal);
    if (controller.signal.aborted) return this.#releaseSlot();
    let result: ProbeResult;
    if (state.port === undefined) {
      this.#releaseSlot();
      result = { ok: false, output: `no local port is mapped to internal port ${state.internalPort}` };
    } else {
      const timer = this.#setTimer(
        () => controller.abort(new Error(`timed out after ${state.timeoutMs} ms`)),
        state.timeoutMs,
      );
      try {
        result = await healthProbe(state.check, { host: tracked.host, port: state.port }, controller.signal);
      } finally {
        this.#clearTimer(timer);
        this.#releaseSlot();
      }
    }
    // The machine stopped or restarted, or the monitor stopped: this result describes nothing.
    if (controller.signal.reason instanceof CheckCancelled || this.#tracked.get(tracked.id) !== tracked) return;
    this.#apply(tracked, state, result);
  }

  #apply(tracked: Tracked, state: CheckState, result: ProbeResult): void {
    const now = this.#now();
    // spec §10: failures during the grace period after a start don't count.
    if (!result.ok && now < tracked.startedAt + state.graceMs) {
      this.#logger.debug({ machine: tracked.id, app: tracked.app, check: state.name, output: result.output }, 'health check failed during grace period');
      return;
    }
    const to: CheckStatus = result.ok ? 'passing' : 'critical';
    const from = state.status;
    if (from === to) return;
    state.status = to;
    if (tracked.checks.some((s) => s.status === 'critical')) this.#unhealthy.add(tracked.id);
    else this.#unhealthy.delete(tracked.id);
    const fields = { machine: tracked.id, app: tracked.app, check: state.name, from, to, output: result.output };
    if (to === 'critical') this.#logger.warn(fields, 'machine health changed');
    else this.#logger.info(fields, 'machine health changed');
    this.#writeRecord(tracked.id, { name: state.name, status: to, output: result.output, updated_at: new Date(now).toISOString() });
  }

  /** #writeRecord replaces the check's entry in the machine record's `checks` (spec §14). */
  #writeRecord(id: string, entry: MachineCheckStatus): void {
    const machine = this.#records.get(id);
    if (machine === undefined) return;
    const checks = machine.checks.filter((c) => c.name !== entry.name);
    checks.push(entry);
    checks.sort((a, b) => a.name.localeCompare(b.name));
    try {
      this.#records.update(id, { checks });
    } catch (error) {
      this.#logger.error({ machine: id, err: error }, 'could not record health check status');
    }
  }

  #acquireSlot(signal: AbortSignal): Promise<void> {
    if (this.#active < HEALTH_MAX_CONCURRENT_CHECKS) {
      this.#active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const wake = (): void => {
        signal.removeEventListener('abort', cancel);
        this.#active += 1;
        resolve();
      };
      const cancel = (): void => {
        const at = this.#waiting.indexOf(wake);
        if (at !== -1) this.#waiting.splice(at, 1);
        wake();
      };
      signal.addEventListener('abort', cancel, { once: true });
      this.#waiting.push(wake);
    });
  }

  #releaseSlot(): void {
    this.#active -= 1;
    const next = this.#waiting.shift();
    if (next !== undefined) next();
  }
}

/**
 * lastStartedAt is when the machine last became `started`, from its events (newest first), so
 * the grace period counts from the start itself, not from when the monitor noticed it.
 */
function lastStartedAt(machine: Machine): number | undefined {
  return machine.events.find((event) => event.status === 'started')?.timestamp;
}

/** fingerprintOf identifies one start of a machine with one config: a change restarts its checks. */
function fingerprintOf(machine: Machine): string {
  const services = machine.config.services.map((s) => [s.internal_port, s.checks ?? []]);
  return JSON.stringify([machine.instance_id, machine.runtime, services, lastStartedAt(machine) ?? null]);
}
