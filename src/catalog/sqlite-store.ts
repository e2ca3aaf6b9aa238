/**
 * SqliteStore keeps the catalog in a `node:sqlite` file (or ":memory:"). Records are stored as
 * JSON documents keyed by name or id: the catalog, not SQL, is what routing queries.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { CatalogStore } from './store.ts';
import type { App, Machine } from './types.ts';

const SCHEMA_VERSION = 1;

export class SqliteStore implements CatalogStore {
  #db: DatabaseSync;
  #putApp: StatementSync;
  #delApp: StatementSync;
  #putMachine: StatementSync;
  #delMachine: StatementSync;
  #depth = 0;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    if (path !== ':memory:') this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS apps (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS machines (id TEXT PRIMARY KEY, app TEXT NOT NULL, doc TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS machines_app ON machines (app);
    `);
    const version = this.#db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as
      | { value: string }
      | undefined;
    if (version === undefined) {
      this.#db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
    } else if (Number(version.value) !== SCHEMA_VERSION) {
      throw new Error(`Cannot open catalog "${path}": schema version ${version.value}, expected ${SCHEMA_VERSION}`);
    }
    this.#putApp = this.#db.prepare('INSERT OR REPLACE INTO apps (name, doc) VALUES (?, ?)');
    this.#delApp = this.#db.prepare('DELETE FROM apps WHERE name = ?');
    this.#putMachine = this.#db.prepare('INSERT OR REPLACE INTO machines (id, app, doc) VALUES (?, ?, ?)');
    this.#delMachine = this.#db.prepare('DELETE FROM machines WHERE id = ?');
  }

  load(): { apps: App[]; machines: Machine[] } {
    const apps = this.#db.prepare('SELECT doc FROM apps ORDER BY name').all() as { doc: string }[];
    const machines = this.#db.prepare('SELECT doc FROM machines ORDER BY id').all() as { doc: string }[];
    return {
      apps: apps.map((row) => JSON.parse(row.doc) as App),
      machines: machines.map((row) => JSON.parse(row.doc) as Machine),
    };
  }

  saveApp(app: App): void {
    this.#putApp.run(app.name, JSON.stringify(app));
  }

  deleteApp(name: string): void {
    this.#delApp.run(name);
  }

  saveMachine(machine: Machine): void {
    this.#putMachine.run(machine.id, machine.app, JSON.stringify(machine));
  }

  deleteMachine(id: string): void {
    this.#delMachine.run(id);
  }

  transaction<T>(fn: () => T): T {
    // Nested calls join the outer transaction.
    if (this.#depth > 0) return fn();
    this.#db.exec('BEGIN');
    this.#depth++;
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    } finally {
      this.#depth--;
    }
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
