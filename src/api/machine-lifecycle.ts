/**
 * MachineLifecycle carries out the Machines API's writes (spec §14): it creates, updates,
 * starts, stops, suspends and destroys machines through the supervisor, and destroys apps.
 *
 * - The catalog record is written first and synchronously, so routing (which reads the catalog
 *   snapshot) sees every change at once; the supervisor's work then runs in the background.
 * - An action is refused up front with `state_conflict` when the machine's state refuses it
 *   (state-machine.ts); otherwise the answer goes out once the action has begun (the record
 *   changed) or ended, at most ACTION_ACK_MAX_MS later: the client then `/wait`s, as with Fly.
 * - `auto_destroy` machines are destroyed when they stop on their own or through the API.
 * - Destroyed records are kept for `include_deleted`, DESTROYED_KEPT_PER_APP per app.
 */
import { randomBytes } from 'node:crypto';
import { MACHINE_EVENTS_KEPT } from '../catalog/catalog.ts';
import type { App, Machine, MachineConfig } from '../catalog/types.ts';
import { FLY_REGION_CODE_PATTERN } from '../config/schema.ts';
import { decide, TRANSIENT_STATES, type MachineAction } from '../machines/state-machine.ts';
import { ulid } from '../proxy/request-id.ts';
import { ApiError, toApiError } from './api-error.ts';
import type { ApiDeps } from './api-deps.ts';
import { acquireLease } from './leases.ts';
import { validationError } from './validate-input.ts';

/** ACTION_ACK_MAX_MS bounds how long an action's answer waits for the action to begin. */
export const ACTION_ACK_MAX_MS = 5_000;
/** DESTROYED_KEPT_PER_APP is how many destroyed machine records an app keeps, newest first. */
export const DESTROYED_KEPT_PER_APP = 50;
/** MACHINE_ID_BYTES: a machine id is 14 hex characters (spec §14). */
const MACHINE_ID_BYTES = 7;

/** RUNS_A_PROCESS are the states in which destroying needs `force` (Fly refuses otherwise). */
const RUNS_A_PROCESS = new Set<Machine['state']>(['started', 'starting', 'stopping', 'suspending', 'suspended']);

export interface CreateInput {
  config: MachineConfig;
  name?: string;
  region?: string;
  skip_launch: boolean;
  skip_service_registration: boolean;
  lease_ttl?: number;
}

export interface UpdateInput {
  config: MachineConfig;
  name?: string;
  region?: string;
  skip_launch: boolean;
  skip_service_registration?: boolean;
}

export interface StopInput {
  signal?: string;
  timeoutMs?: number;
}

export class MachineLifecycle {
  #deps: ApiDeps;
  #autoDestroy = new Set<string>();
  #unsubscribe: (() => void) | null = null;

  constructor(deps: ApiDeps) {
    this.#deps = deps;
  }

  /** start begins watching `auto_destroy` machines. */
  start(): void {
    for (const machine of this.#deps.catalog.machines()) {
      if (machine.config.auto_destroy && machine.state !== 'destroyed') this.#autoDestroy.add(machine.id);
    }
    this.#unsubscribe ??= this.#deps.catalog.onChange(() => this.#destroyExited());
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** create stores a new machine and, unless `skip_launch`, starts it in the background. */
  create(app: App, input: CreateInput): { machine: Machine; nonce?: string } {
    const { catalog } = this.#deps;
    const region = input.region ?? this.#deps.config().region;
    this.#checkRegion(region);
    if (input.name !== undefined) this.#checkNameFree(app.name, input.name);
    let id = newMachineId();
    while (catalog.get(id) !== undefined) id = newMachineId();
    const nowMs = this.#deps.now();
    const now = new Date(nowMs).toISOString();
    const base: Machine = {
      id,
      app: app.name,
      name: input.name ?? id,
      region,
      state: 'created',
      instance_id: ulid(nowMs),
      config: input.config,
      cordoned: input.skip_service_registration,
      created_at: now,
      updated_at: now,
      events: [{ type: 'launch', status: 'created', source: 'user', timestamp: nowMs }],
      checks: [],
      runtime: null,
      origin: 'api',
      lease: null,
    };
    const lease = input.lease_ttl === undefined ? null : acquireLease(base, { ttlSeconds: input.lease_ttl, description: '', nonce: undefined }, nowMs);
    const machine = catalog.putMachine({ ...base, lease });
    if (machine.config.auto_destroy) this.#autoDestroy.add(id);
    if (!input.skip_launch) void this.#background(id, 'start', this.#deps.supervisor.start(id));
    return lease === null ? { machine } : { machine, nonce: lease.nonce };
  }

  /** update replaces the config (new instance_id) and restarts a running machine with it. */
  update(machine: Machine, input: UpdateInput): Machine {
    this.#refuseConfigOwned(machine, 'update');
    const problems = [];
    if (input.name !== undefined && input.name !== machine.name) problems.push({ path: 'name', rule: `is immutable (the machine is named "${machine.name}")` });
    if (input.region !== undefined && input.region !== machine.region) problems.push({ path: 'region', rule: `is immutable (the machine is in "${machine.region}")` });
    if (problems.length > 0) throw validationError('body', problems);
    if (machine.state === 'destroyed' || machine.state === 'destroying') throw destroyedError(machine, 'update');
    const nowMs = this.#deps.now();
    const updated = this.#deps.catalog.update(machine.id, {
      config: input.config,
      instance_id: ulid(nowMs),
      cordoned: input.skip_service_registration ?? machine.cordoned,
      events: [{ type: 'update', status: machine.state, source: 'user' as const, timestamp: nowMs }, ...machine.events].slice(0, MACHINE_EVENTS_KEPT),
    });
    if (input.config.auto_destroy) this.#autoDestroy.add(machine.id);
    else this.#autoDestroy.delete(machine.id);
    const { supervisor } = this.#deps;
    // A running or suspended process runs the old config: it stops, and a machine that ran (or
    // any machine, unless skip_launch) starts again with the new one.
    const running = machine.state === 'started' || machine.state === 'starting';
    const launch = running || !input.skip_launch;
    const id = machine.id;
    if (running || machine.state === 'suspended') {
      const stopped = supervisor.stop(id);
      void this.#background(id, 'restart', launch ? stopped.then(() => supervisor.start(id)) : stopped);
    } else if (launch) {
      void this.#background(id, 'start', supervisor.start(id));
    }
    return updated;
  }

  /** act starts, stops or suspends a machine; it answers once the action has begun. */
  async act(machine: Machine, action: Exclude<MachineAction, 'destroy'>, stop: StopInput = {}): Promise<void> {
    this.#refuse(machine, action);
    const { supervisor } = this.#deps;
    const before = this.#deps.catalog.get(machine.id);
    const run =
      action === 'start' ? supervisor.start(machine.id) : action === 'stop' ? supervisor.stop(machine.id, stop) : supervisor.suspend(machine.id);
    await this.#acknowledged(machine.id, before, this.#background(machine.id, action, run));
  }

  /** destroy stops the machine if it runs (only with `force`) and marks it destroyed. */
  async destroy(machine: Machine, force: boolean): Promise<void> {
    this.#refuseConfigOwned(machine, 'destroy');
    if (machine.state === 'destroyed') return;
    if (!force && RUNS_A_PROCESS.has(machine.state)) {
      throw new ApiError('state_conflict', `Cannot destroy machine "${machine.id}": it is ${machine.state}; stop it first or pass force=true`);
    }
    this.#autoDestroy.delete(machine.id);
    const before = this.#deps.catalog.get(machine.id);
    const run = this.#deps.supervisor.destroy(machine.id).then(() => this.#pruneDestroyed(machine.app));
    await this.#acknowledged(machine.id, before, this.#background(machine.id, 'destroy', run));
  }

  /** destroyApp destroys every machine of the app, then deletes it and its replay cache entries. */
  async destroyApp(app: App, force: boolean): Promise<void> {
    if (app.origin === 'config') {
      throw new ApiError('config_owned', `Cannot delete app "${app.name}": it is declared in ricochet.toml; remove it there`);
    }
    const { catalog, supervisor } = this.#deps;
    const machines = catalog.machines(app.name).filter((m) => m.state !== 'destroyed');
    const running = machines.find((m) => RUNS_A_PROCESS.has(m.state));
    if (!force && running !== undefined) {
      throw new ApiError('state_conflict', `Cannot delete app "${app.name}": machine "${running.id}" is ${running.state}; pass force=true`);
    }
    for (const machine of machines) this.#autoDestroy.delete(machine.id);
    await Promise.all(
      machines.map((m) =>
        supervisor.destroy(m.id).catch((error: unknown) => this.#deps.logger.warn({ machine: m.id, err: error }, 'machine did not stop cleanly')),
      ),
    );
    if (catalog.app(app.name) !== undefined) catalog.deleteApp(app.name);
    this.#deps.cache.purge({ app: app.name });
  }

  /** #refuse answers `state_conflict` for an action the machine's state refuses (a queued state passes). */
  #refuse(machine: Machine, action: MachineAction): void {
    if (machine.state === 'destroyed' || machine.state === 'destroying') throw destroyedError(machine, action);
    if (TRANSIENT_STATES.includes(machine.state)) return;
    if (decide(machine.state, action).type === 'refuse') {
      throw new ApiError('state_conflict', `Cannot ${action} machine "${machine.id}": it is ${machine.state}`);
    }
  }

  #refuseConfigOwned(machine: Machine, action: string): void {
    if (machine.origin === 'config') {
      throw new ApiError('config_owned', `Cannot ${action} machine "${machine.id}": it is declared in ricochet.toml; change it there`);
    }
  }

  #checkRegion(region: string): void {
    const known = Object.hasOwn(this.#deps.config().regions, region);
    if (!known && !FLY_REGION_CODE_PATTERN.test(region)) {
      throw validationError('body', [{ path: 'region', rule: 'is not a region code (3 lowercase letters or a region in [regions])' }]);
    }
  }

  #checkNameFree(app: string, name: string): void {
    const taken = this.#deps.catalog.machines(app).some((m) => m.name === name && m.state !== 'destroyed');
    if (taken) throw new ApiError('already_exists', `App "${app}" already has a machine named "${name}"`);
  }

  /** #background logs an action's failure, so nothing rejects unhandled; it resolves either way. */
  #background(id: string, action: string, run: Promise<unknown>): Promise<unknown> {
    return run.then(
      () => null,
      (error: unknown) => {
        this.#deps.logger.warn({ machine: id, action, err: error }, `machine ${action} failed`);
        return error;
      },
    );
  }

  /**
   * #acknowledged resolves once the machine's record changed from `before` (the action began),
   * or the action ended, or ACTION_ACK_MAX_MS passed. An action that ended refused (a state it
   * could not know of up front, or a shutdown) throws its error; other failures show as the
   * machine's state and events.
   */
  async #acknowledged(id: string, before: Machine | undefined, outcome: Promise<unknown>): Promise<void> {
    const { catalog } = this.#deps;
    let result: unknown = undefined;
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const timer = setTimeout(finish, ACTION_ACK_MAX_MS);
      const unsubscribe = catalog.onChange(() => {
        if (catalog.get(id) !== before) finish();
      });
      void outcome.then((value) => {
        result = value;
        finish();
      });
    });
    if (result !== undefined && result !== null) {
      const error = toApiError(result);
      if (error.code !== 'internal') throw error;
    }
  }

  #destroyExited(): void {
    for (const id of [...this.#autoDestroy]) {
      const machine = this.#deps.catalog.get(id);
      if (machine === undefined || machine.state === 'destroyed') {
        this.#autoDestroy.delete(id);
        continue;
      }
      // Only a stop the supervisor recorded counts: not a create or update (source "user"), not
      // the node shutting down, not a record reset at boot (its newest event says another state).
      const last = machine.events[0];
      const ended = machine.state === 'stopped' || machine.state === 'failed';
      if (ended && last !== undefined && last.source === 'ricochet' && last.type !== 'shutdown' && last.status === machine.state) {
        this.#autoDestroy.delete(id);
        const run = this.#deps.supervisor.destroy(id).then(() => this.#pruneDestroyed(machine.app));
        void this.#background(id, 'auto_destroy', run);
      }
    }
  }

  #pruneDestroyed(app: string): void {
    const { catalog } = this.#deps;
    const destroyed = catalog
      .machines(app)
      .filter((m) => m.state === 'destroyed')
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at));
    for (const machine of destroyed.slice(DESTROYED_KEPT_PER_APP)) catalog.deleteMachine(machine.id);
  }
}

/** newMachineId returns 14 random lowercase hex characters, as Fly's machine ids. */
export function newMachineId(): string {
  return randomBytes(MACHINE_ID_BYTES).toString('hex');
}

function destroyedError(machine: Machine, action: string): ApiError {
  return new ApiError('state_conflict', `Cannot ${action} machine "${machine.id}": it is ${machine.state}`);
}
