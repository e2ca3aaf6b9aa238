/**
 * MemoryRecords is a small real MachineRecords for the supervisor's tests: apps and machines in
 * maps, and `waitFor` to await a machine reaching a condition (no sleeps).
 */
import { randomBytes } from 'node:crypto';
import type { App, Machine, MachineConfig } from '../../src/catalog/types.ts';
import type { MachineRecords } from '../../src/machines/supervisor.ts';

type MachinePatch = Parameters<MachineRecords['update']>[1];

/** WAIT_FOR_TIMEOUT_MS fails a test that waits for a state that never comes. */
const WAIT_FOR_TIMEOUT_MS = 5_000;

export class MemoryRecords implements MachineRecords {
  #apps = new Map<string, App>();
  #machines = new Map<string, Machine>();
  #waiters = new Set<() => void>();
  /** updates counts calls to `update`, for tests that check nothing changed. */
  updates = 0;

  addApp(app: App): App {
    this.#apps.set(app.name, app);
    return app;
  }

  add(machine: Machine): Machine {
    this.#machines.set(machine.id, machine);
    return machine;
  }

  get(id: string): Machine | undefined {
    return this.#machines.get(id);
  }

  app(name: string): App | undefined {
    return this.#apps.get(name);
  }

  update(id: string, patch: MachinePatch): Machine {
    const current = this.#machines.get(id);
    if (current === undefined) throw new Error(`Cannot update machine "${id}": it does not exist`);
    const updated = { ...current, ...patch, updated_at: new Date().toISOString() };
    this.#machines.set(id, updated);
    this.updates += 1;
    for (const waiter of [...this.#waiters]) waiter();
    return updated;
  }

  /** setConfig replaces a machine's config, as a Machines API update would. */
  setConfig(id: string, config: MachineConfig): void {
    const current = this.#machines.get(id)!;
    this.#machines.set(id, { ...current, config });
  }

  /** waitFor resolves with the machine once `predicate` holds for it (now or after an update). */
  waitFor(id: string, predicate: (machine: Machine) => boolean, what = 'a condition'): Promise<Machine> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const machine = this.#machines.get(id);
        if (machine === undefined || !predicate(machine)) return false;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(machine);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`machine ${id} did not reach ${what}; it is ${this.#machines.get(id)?.state}`));
      }, WAIT_FOR_TIMEOUT_MS);
      if (!check()) this.#waiters.add(check);
    });
  }
}

/** testApp is an app record with defaults. */
export function testApp(overrides: Partial<App> = {}): App {
  return {
    name: 'tenant',
    id: 'app-tenant',
    org: 'personal',
    network: 'default',
    hostnames: [],
    primary_region: 'iad',
    created_at: new Date(0).toISOString(),
    origin: 'api',
    ...overrides,
  };
}

/** testMachineId is a fresh 14-hex machine id. */
export function testMachineId(): string {
  return randomBytes(7).toString('hex');
}

/** testMachine is a machine record with defaults: a process machine with one service on 8080. */
export function testMachine(overrides: Partial<Omit<Machine, 'config'>> & { config?: Partial<MachineConfig> } = {}): Machine {
  const { config, ...rest } = overrides;
  return {
    id: testMachineId(),
    app: 'tenant',
    name: 'tenant-1',
    region: 'iad',
    state: 'created',
    instance_id: '01HTESTVERSION',
    cordoned: false,
    created_at: new Date(0).toISOString(),
    updated_at: new Date(0).toISOString(),
    events: [],
    checks: [],
    runtime: null,
    origin: 'api',
    lease: null,
    ...rest,
    config: {
      image: 'registry.fly.io/tenant:v1',
      env: {},
      services: [{ protocol: 'tcp', internal_port: 8080, ports: [{ port: 80, handlers: ['http'] }] }],
      checks: {},
      metadata: {},
      init: {},
      restart: { policy: 'no' },
      stop_config: {},
      auto_destroy: false,
      ricochet: { driver: 'process' },
      ...config,
    },
  };
}
