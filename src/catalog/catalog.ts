/**
 * Catalog is the node's source of truth for apps and machines: an in-memory copy written through
 * to a CatalogStore, and an immutable Snapshot for routing that is rebuilt lazily after a change
 * and swapped whole, so a request never sees half an update.
 */
import { Snapshot } from './snapshot.ts';
import type { CatalogStore } from './store.ts';
import type { App, Machine, MachineEvent } from './types.ts';

/** MACHINE_EVENTS_KEPT bounds a machine's `events` list (newest first). */
export const MACHINE_EVENTS_KEPT = 20;

export type MachinePatch = Partial<Omit<Machine, 'id' | 'app' | 'created_at'>>;

export class Catalog {
  #store: CatalogStore;
  #apps = new Map<string, App>();
  #machines = new Map<string, Machine>();
  #baseDomain: string;
  #snapshot: Snapshot | null = null;
  #version = 0;
  #listeners = new Set<() => void>();
  #notifyQueued = false;
  #now: () => number;

  constructor(store: CatalogStore, options: { baseDomain: string; now?: () => number }) {
    this.#store = store;
    this.#baseDomain = options.baseDomain;
    this.#now = options.now ?? Date.now;
    const { apps, machines } = store.load();
    for (const app of apps) this.#apps.set(app.name, app);
    for (const machine of machines) this.#machines.set(machine.id, machine);
  }

  /** snapshot is the current routing view; it is rebuilt at most once per burst of changes. */
  get snapshot(): Snapshot {
    if (this.#snapshot === null) {
      this.#snapshot = new Snapshot(++this.#version, this.#baseDomain, this.#apps.values(), this.#machines.values());
    }
    return this.#snapshot;
  }

  app(name: string): App | undefined {
    return this.#apps.get(name);
  }

  apps(): App[] {
    return [...this.#apps.values()];
  }

  get(id: string): Machine | undefined {
    return this.#machines.get(id);
  }

  machines(app?: string): Machine[] {
    const all = [...this.#machines.values()];
    return app === undefined ? all : all.filter((m) => m.app === app);
  }

  putApp(app: App): App {
    const frozen = Object.freeze({ ...app, hostnames: Object.freeze([...app.hostnames]) as string[] });
    this.#store.saveApp(frozen);
    this.#apps.set(app.name, frozen);
    this.#changed();
    return frozen;
  }

  /** deleteApp removes an app and all of its machine records. */
  deleteApp(name: string): void {
    this.#store.transaction(() => {
      for (const machine of this.machines(name)) this.#store.deleteMachine(machine.id);
      this.#store.deleteApp(name);
    });
    for (const machine of this.machines(name)) this.#machines.delete(machine.id);
    this.#apps.delete(name);
    this.#changed();
  }

  putMachine(machine: Machine): Machine {
    if (!this.#apps.has(machine.app)) {
      throw new Error(`Cannot store machine "${machine.id}": app "${machine.app}" does not exist`);
    }
    const frozen = Object.freeze({ ...machine });
    this.#store.saveMachine(frozen);
    this.#machines.set(machine.id, frozen);
    this.#changed();
    return frozen;
  }

  /** update changes some fields of a machine, stamps `updated_at`, and persists it. */
  update(id: string, patch: MachinePatch): Machine {
    const current = this.#machines.get(id);
    if (current === undefined) throw new Error(`Cannot update machine "${id}": it does not exist`);
    return this.putMachine({ ...current, ...patch, updated_at: new Date(this.#now()).toISOString() });
  }

  /** recordEvent prepends an event to a machine's bounded event list. */
  recordEvent(id: string, event: Omit<MachineEvent, 'timestamp'>): Machine {
    const current = this.#machines.get(id);
    if (current === undefined) throw new Error(`Cannot record an event for machine "${id}": it does not exist`);
    const events = [{ ...event, timestamp: this.#now() }, ...current.events].slice(0, MACHINE_EVENTS_KEPT);
    return this.update(id, { events });
  }

  deleteMachine(id: string): void {
    this.#store.deleteMachine(id);
    this.#machines.delete(id);
    this.#changed();
  }

  /** transaction groups writes so the store commits them together. */
  transaction<T>(fn: () => T): T {
    return this.#store.transaction(fn);
  }

  /** onChange calls `listener` once after each burst of changes (coalesced in a microtask). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#listeners.clear();
    this.#store.close();
  }

  #changed(): void {
    this.#snapshot = null;
    if (this.#notifyQueued) return;
    this.#notifyQueued = true;
    queueMicrotask(() => {
      this.#notifyQueued = false;
      for (const listener of this.#listeners) listener();
    });
  }
}
