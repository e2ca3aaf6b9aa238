/**
 * Supervisor starts, stops, suspends, restarts and destroys machines (spec §9, §14) through
 * their drivers, and is the only writer of a machine's `state`, `runtime` and lifecycle events.
 *
 * - One action at a time per machine: actions queue behind each other, so a start asked for
 *   during a stop runs once the stop is done (no PM08 for `stopping`). Concurrent starts share
 *   one start (single-flight); a start resolves once every internal port accepts connections.
 * - Every state change goes through `records.update` (which persists it), prepends an event
 *   (newest first, MACHINE_EVENTS_KEPT kept) and logs one info line `machine <state>`.
 * - An exit nobody asked for applies `config.restart` (restart-policy.ts). [UNDOC] An exit
 *   before the ports accept fails the start (PM05, state `failed`) instead of restarting, and a
 *   start past its deadline is killed (PM03, state `failed`).
 * - A record that says a machine runs while no process backs it (Ricochet restarted) counts as
 *   `stopped` (state-machine.ts `settledState`).
 */
import type { Logger } from 'pino';
import { MACHINE_EVENTS_KEPT } from '../catalog/catalog.ts';
import type { App, Machine, MachineEvent, MachineState } from '../catalog/types.ts';
import { ProxyError } from '../proxy/errors.ts';
import type { MachineDriver, MachineExit, RunningMachine } from './driver.ts';
import { ProcessDriver } from './drivers/process-driver.ts';
import { StaticDriver } from './drivers/static-driver.ts';
import { DEFAULT_RESTART_BACKOFF, restartDecision, type RestartBackoff } from './restart-policy.ts';
import { decide, settledState, type MachineAction } from './state-machine.ts';
import { stopSettings, type StopSettings } from './stop-config.ts';

/** RESTART_STREAK_RESET_MS: a machine that ran this long before exiting starts a fresh restart count. */
export const RESTART_STREAK_RESET_MS = 60_000;

/** MachineRecords is the supervisor's view of the catalog; `update` persists the change. */
export interface MachineRecords {
  get(id: string): Machine | undefined;
  app(name: string): App | undefined;
  update(id: string, patch: Partial<Pick<Machine, 'state' | 'runtime' | 'instance_id' | 'events' | 'checks'>>): Machine;
}

export interface SupervisorOptions {
  records: MachineRecords;
  logger: Logger;
  /** Deadline for a started machine to accept connections on every internal port (PM03 past it). */
  startTimeoutMs: number;
  /** Clock for event timestamps and durations. */
  now?: () => number;
  /** Drivers by kind; defaults to a ProcessDriver and a StaticDriver. */
  drivers?: Partial<Record<MachineDriver['kind'], MachineDriver>>;
  restartBackoff?: RestartBackoff;
  /**
   * drain resolves once the machine has no request in flight, or after `timeoutMs`. A stop or
   * suspend asked for while the machine runs marks it stopping (so it gets no new requests),
   * waits for this, then signals it. Shutdown and destroy do not wait. Default: no wait.
   */
  drain?: (id: string, timeoutMs: number) => Promise<unknown>;
}

export interface StopOptions {
  signal?: string;
  timeoutMs?: number;
}

/** Entry is the supervisor's bookkeeping for one machine. */
interface Entry {
  /** The last queued action; the next one runs after it settles. */
  tail: Promise<unknown>;
  running: RunningMachine | null;
  suspended: boolean;
  startFlight: Promise<Machine> | null;
  startAbort: AbortController | null;
  restartTimer: NodeJS.Timeout | null;
  /** Restarts made in a row since the last start that was asked for. */
  restarts: number;
  startedAt: number;
}

export class Supervisor {
  #records: MachineRecords;
  #logger: Logger;
  #startTimeoutMs: number;
  #now: () => number;
  #drivers: Record<MachineDriver['kind'], MachineDriver>;
  #backoff: RestartBackoff;
  #drain: (id: string, timeoutMs: number) => Promise<unknown>;
  #entries = new Map<string, Entry>();
  #closing = false;
  #exitHookInstalled = false;
  /** #killAll runs if Ricochet exits without a shutdown: a detached child would outlive it. */
  #killAll = (): void => {
    for (const entry of this.#entries.values()) entry.running?.kill();
  };

  constructor(options: SupervisorOptions) {
    if (!Number.isFinite(options.startTimeoutMs) || options.startTimeoutMs <= 0) {
      throw new RangeError(`Invalid startTimeoutMs ${options.startTimeoutMs}`);
    }
    this.#records = options.records;
    this.#logger = options.logger;
    this.#startTimeoutMs = options.startTimeoutMs;
    this.#now = options.now ?? Date.now;
    this.#drivers = { process: new ProcessDriver(), static: new StaticDriver(), ...options.drivers };
    this.#backoff = options.restartBackoff ?? DEFAULT_RESTART_BACKOFF;
    this.#drain = options.drain ?? (() => Promise.resolve());
  }

  /** start starts (or resumes) a machine and resolves once it accepts connections. */
  start(id: string): Promise<Machine> {
    if (this.#closing) return Promise.reject(shuttingDown(id));
    const entry = this.#entry(id);
    const machine = this.#records.get(id);
    if (machine?.state === 'started' && entry.running !== null && !entry.suspended) return Promise.resolve(machine);
    if (entry.startFlight !== null) return entry.startFlight;
    const flight = this.#enqueue(id, entry, () => this.#doStart(id, entry, 'start'));
    entry.startFlight = flight;
    const clear = (): void => {
      if (entry.startFlight === flight) entry.startFlight = null;
    };
    flight.then(clear, clear);
    return flight;
  }

  /** stop sends the stop signal, then SIGKILL after the timeout (spec §9.4, §14 `/stop`). */
  stop(id: string, options: StopOptions = {}): Promise<void> {
    try {
      stopSettings({ stop_config: {} }, options);
    } catch (error) {
      return Promise.reject(new ProxyError('RC03', (error as Error).message, { source: 'downstream' }));
    }
    const entry = this.#entry(id);
    return this.#enqueue(id, entry, () => this.#doStop(id, entry, options, 'stop'));
  }

  /** suspend freezes a started machine, or stops it where the driver cannot suspend (spec §9.5). */
  suspend(id: string): Promise<void> {
    const entry = this.#entry(id);
    return this.#enqueue(id, entry, () => this.#doSuspend(id, entry));
  }

  /** destroy stops the machine if it runs and marks it destroyed; the record stays for the caller to delete. */
  destroy(id: string): Promise<void> {
    const entry = this.#entry(id);
    return this.#enqueue(id, entry, () => this.#doDestroy(id, entry));
  }

  /** isRunning is true while the machine's process runs: started, or mid stop; not suspended. */
  isRunning(id: string): boolean {
    const entry = this.#entries.get(id);
    return entry !== undefined && entry.running !== null && !entry.suspended;
  }

  /** shutdown stops every machine this supervisor runs; after it resolves no child is left. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    const entries = [...this.#entries];
    for (const [id, entry] of entries) entry.startAbort?.abort(shuttingDown(id));
    await Promise.all(
      entries.map(([id, entry]) =>
        this.#enqueue(id, entry, () => this.#doStop(id, entry, {}, 'shutdown')).catch((error: unknown) => {
          this.#logger.warn({ machine: id, err: error }, 'machine did not stop cleanly at shutdown');
          entry.running?.kill();
        }),
      ),
    );
    if (this.#exitHookInstalled) process.removeListener('exit', this.#killAll);
    this.#exitHookInstalled = false;
  }

  async #doStart(id: string, entry: Entry, reason: 'start' | 'restart'): Promise<Machine> {
    if (this.#closing) throw shuttingDown(id);
    const machine = this.#mustGet(id, 'start');
    const startedAt = this.#now();
    // A start asked for during a restart's backoff starts now.
    if (entry.restartTimer !== null) clearTimeout(entry.restartTimer);
    entry.restartTimer = null;
    const state = this.#settled(machine, entry);
    if (state === 'suspended' && entry.running !== null) return this.#resume(id, entry, entry.running, startedAt);
    if (this.#check(id, state, 'start') === 'noop') return machine;
    if (reason === 'start') entry.restarts = 0;
    this.#transition(id, 'starting', reason, { runtime: null });
    const abort = new AbortController();
    entry.startAbort = abort;
    let running: RunningMachine;
    try {
      const current = this.#mustGet(id, 'start');
      const driver = this.#driverFor(current);
      running = await driver.start({
        machine: current,
        app: this.#records.app(current.app),
        timeoutMs: this.#startTimeoutMs,
        signal: abort.signal,
        logger: this.#logger,
      });
    } catch (error) {
      const failure = asStartError(id, error);
      const fields = { code: failure.code, error: failure.message, ms: this.#now() - startedAt };
      // A start that was asked for fails for its caller; a failed restart counts as one more failure.
      if (this.#closing) this.#transition(id, 'stopped', reason, { runtime: null }, fields);
      else if (reason === 'start') this.#transition(id, 'failed', reason, { runtime: null }, fields);
      else this.#afterFailure(id, entry, { code: null, signal: null }, reason, fields);
      throw failure;
    } finally {
      entry.startAbort = null;
    }
    entry.running = running;
    entry.suspended = false;
    entry.startedAt = this.#now();
    this.#installExitHook();
    void running.exited.then((exit) =>
      this.#enqueue(id, entry, () => this.#onExit(id, entry, running, exit)).catch((error: unknown) => {
        this.#logger.warn({ machine: id, err: error }, 'machine exit could not be recorded');
      }),
    );
    return this.#transition(id, 'started', reason, { runtime: running.runtime }, { ms: this.#now() - startedAt });
  }

  /** #resume wakes a suspended machine (spec §14 `/start` from suspended); `ms` is the resume latency. */
  async #resume(id: string, entry: Entry, running: RunningMachine, startedAt: number): Promise<Machine> {
    entry.restarts = 0;
    this.#transition(id, 'starting', 'start', {});
    await running.resume();
    if (entry.running !== running) {
      throw new ProxyError('PM05', `Cannot start machine "${id}": its process exited while suspended`, { source: 'upstream' });
    }
    entry.suspended = false;
    return this.#transition(id, 'started', 'start', { runtime: running.runtime }, { ms: this.#now() - startedAt, resumed: true });
  }

  async #doStop(id: string, entry: Entry, options: StopOptions, reason: 'stop' | 'shutdown'): Promise<void> {
    const machine = this.#records.get(id);
    if (machine === undefined) {
      await this.#stopProcess(id, entry, null, options);
      return;
    }
    const state = this.#settled(machine, entry);
    if (entry.restartTimer !== null) clearTimeout(entry.restartTimer);
    entry.restartTimer = null;
    if (this.#check(id, state, 'stop') === 'noop') return;
    const startedAt = this.#now();
    if (entry.running === null) {
      this.#transition(id, 'stopped', reason, { runtime: null });
      return;
    }
    this.#transition(id, 'stopping', reason, {});
    // Draining: in-flight requests get up to kill_timeout to finish before the signal.
    if (reason === 'stop') await this.#drainFor(id, machine, options);
    const exit = await this.#stopProcess(id, entry, machine, options);
    this.#transition(id, 'stopped', reason, { runtime: null }, { ms: this.#now() - startedAt, ...exit });
  }

  async #doSuspend(id: string, entry: Entry): Promise<void> {
    const machine = this.#mustGet(id, 'suspend');
    if (!this.#driverFor(machine).canSuspend) {
      this.#logger.info({ machine: id, app: machine.app }, 'machine cannot suspend, stopping it instead');
      return this.#doStop(id, entry, {}, 'stop');
    }
    const state = this.#settled(machine, entry);
    const running = entry.running;
    if (this.#check(id, state, 'suspend') === 'noop' || running === null) return;
    const startedAt = this.#now();
    this.#transition(id, 'suspending', 'suspend', {});
    await this.#drainFor(id, machine, {});
    await running.suspend();
    // If the process exited meanwhile, its exit (queued behind this action) settles the state.
    entry.suspended = true;
    this.#transition(id, 'suspended', 'suspend', { runtime: null }, { ms: this.#now() - startedAt });
  }

  async #doDestroy(id: string, entry: Entry): Promise<void> {
    const machine = this.#records.get(id);
    if (machine === undefined) return;
    const state = this.#settled(machine, entry);
    if (this.#check(id, state, 'destroy') === 'noop') return;
    if (entry.restartTimer !== null) clearTimeout(entry.restartTimer);
    entry.restartTimer = null;
    const startedAt = this.#now();
    this.#transition(id, 'destroying', 'destroy', {});
    const exit = await this.#stopProcess(id, entry, machine, {});
    this.#transition(id, 'destroyed', 'destroy', { runtime: null }, { ms: this.#now() - startedAt, ...exit });
  }

  /** #onExit handles an exit: nothing when the machine was stopped on purpose, else the restart policy. */
  async #onExit(id: string, entry: Entry, running: RunningMachine, exit: MachineExit): Promise<void> {
    if (entry.running !== running) return;
    entry.running = null;
    entry.suspended = false;
    if (this.#records.get(id) === undefined) return;
    if (this.#now() - entry.startedAt >= RESTART_STREAK_RESET_MS) entry.restarts = 0;
    if (this.#closing) {
      this.#transition(id, 'stopped', 'exit', { runtime: null }, { ...exit });
      return;
    }
    this.#afterFailure(id, entry, exit, 'exit', { ...exit });
  }

  /** #afterFailure restarts the machine after a backoff, or settles it as stopped or failed. */
  #afterFailure(id: string, entry: Entry, exit: MachineExit, type: string, fields: Record<string, unknown>): void {
    const machine = this.#mustGet(id, 'start');
    const decision = restartDecision(machine.config.restart, exit, entry.restarts, this.#backoff);
    if (!decision.restart) {
      this.#transition(id, decision.state, type, { runtime: null }, fields);
      return;
    }
    entry.restarts += 1;
    this.#transition(id, 'starting', type, { runtime: null }, { ...fields, attempt: entry.restarts, delay_ms: decision.delayMs });
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = null;
      // A failed restart is logged and settled by #doStart itself.
      this.#enqueue(id, entry, () => this.#doStart(id, entry, 'restart')).catch(() => {});
    }, decision.delayMs);
  }

  /** #stopProcess ends the machine's process, if any, with its stop signal and timeout. */
  async #stopProcess(id: string, entry: Entry, machine: Machine | null, options: StopOptions): Promise<Partial<MachineExit>> {
    const running = entry.running;
    if (running === null) return {};
    entry.running = null;
    entry.suspended = false;
    const settings = machine === null ? stopSettings({ stop_config: {} }, options) : this.#stopSettings(machine, options);
    this.#logger.debug({ machine: id, ...settings }, 'stopping machine process');
    return running.stop(settings.signal, settings.timeoutMs);
  }

  /** #drainFor waits, at most the machine's stop timeout, until it has no request in flight. */
  async #drainFor(id: string, machine: Machine, options: StopOptions): Promise<void> {
    const { timeoutMs } = this.#stopSettings(machine, options);
    const startedAt = this.#now();
    try {
      await this.#drain(id, timeoutMs);
    } catch (error) {
      this.#logger.warn({ machine: id, err: error }, 'could not drain machine');
    }
    const ms = this.#now() - startedAt;
    if (ms > 0) this.#logger.debug({ machine: id, ms }, 'machine drained');
  }

  #stopSettings(machine: Machine, options: StopOptions): StopSettings {
    try {
      return stopSettings(machine.config, options);
    } catch (error) {
      this.#logger.warn({ machine: machine.id, err: error }, 'invalid stop_config, using the defaults');
      return stopSettings({ stop_config: {} }, options);
    }
  }

  /** #check answers PM08 for an action the machine's state refuses, and says whether it is a no-op. */
  #check(id: string, state: MachineState, action: MachineAction): 'go' | 'noop' {
    const decision = decide(state, action);
    if (decision.type === 'refuse') {
      throw new ProxyError('PM08', `Cannot ${action} machine "${id}": it is ${state}`, { source: 'internal' });
    }
    return decision.type;
  }

  #settled(machine: Machine, entry: Entry): MachineState {
    return settledState(machine.state, entry.running !== null || entry.restartTimer !== null);
  }

  /** #transition records a state change: the record, one event, one log line. */
  #transition(
    id: string,
    state: MachineState,
    type: string,
    patch: Partial<Pick<Machine, 'runtime'>>,
    fields: Record<string, unknown> = {},
  ): Machine {
    const machine = this.#mustGet(id, type);
    const event: MachineEvent = { type, status: state, source: 'ricochet', timestamp: this.#now() };
    const events = [event, ...machine.events].slice(0, MACHINE_EVENTS_KEPT);
    const updated = this.#records.update(id, { state, events, ...patch });
    this.#logger.info({ machine: id, app: machine.app, region: machine.region, from: machine.state, ...fields }, `machine ${state}`);
    return updated;
  }

  #mustGet(id: string, action: string): Machine {
    const machine = this.#records.get(id);
    if (machine === undefined) throw new ProxyError('PM08', `Cannot ${action} machine "${id}": it does not exist`);
    return machine;
  }

  #driverFor(machine: Machine): MachineDriver {
    const kind = machine.config.ricochet?.driver ?? 'process';
    const driver = this.#drivers[kind];
    if (driver === undefined) {
      throw new ProxyError('PM05', `Cannot start machine "${machine.id}": unknown driver "${String(kind)}"`);
    }
    return driver;
  }

  #entry(id: string): Entry {
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      entry = {
        tail: Promise.resolve(),
        running: null,
        suspended: false,
        startFlight: null,
        startAbort: null,
        restartTimer: null,
        restarts: 0,
        startedAt: 0,
      };
      this.#entries.set(id, entry);
    }
    return entry;
  }

  /** #enqueue runs `action` after the machine's previous actions, and forgets idle destroyed machines. */
  #enqueue<T>(id: string, entry: Entry, action: () => Promise<T>): Promise<T> {
    const run = entry.tail.then(action, action);
    const tail: Promise<void> = run.then(
      (): void => this.#forgetIfGone(id, entry, tail),
      (): void => this.#forgetIfGone(id, entry, tail),
    );
    entry.tail = tail;
    return run;
  }

  #forgetIfGone(id: string, entry: Entry, tail: Promise<unknown>): void {
    if (entry.tail !== tail || entry.running !== null || entry.restartTimer !== null) return;
    const machine = this.#records.get(id);
    if (machine === undefined || machine.state === 'destroyed') this.#entries.delete(id);
  }

  #installExitHook(): void {
    if (this.#exitHookInstalled) return;
    process.on('exit', this.#killAll);
    this.#exitHookInstalled = true;
  }
}

function shuttingDown(id: string): ProxyError {
  return new ProxyError('RC05', `Cannot start machine "${id}": Ricochet is shutting down`);
}

function asStartError(id: string, error: unknown): ProxyError {
  if (error instanceof ProxyError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ProxyError('PM05', `Cannot start machine "${id}": ${reason}`, { source: 'upstream', cause: error });
}
