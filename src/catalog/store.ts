/**
 * CatalogStore persists apps and machines. The catalog keeps the authoritative copy in memory and
 * writes through to a store; `load` is read once at start. Implementations: `SqliteStore`
 * (a file or ":memory:"); every implementation runs test/catalog/store-contract.ts.
 */
import type { App, Machine } from './types.ts';

export interface CatalogStore {
  /** load returns everything the store holds. */
  load(): { apps: App[]; machines: Machine[] };
  saveApp(app: App): void;
  deleteApp(name: string): void;
  saveMachine(machine: Machine): void;
  deleteMachine(id: string): void;
  /** transaction runs `fn` so that its writes land together or not at all. */
  transaction<T>(fn: () => T): T;
  close(): void;
}
