// Which cell hosts which tenant: one SQLite table, read by the router to route and by the cells
// to notice that a tenant has moved away. `tenants.js move` changes it.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const SEED = [
  ['acme', 'cell-1'],
  ['globex', 'cell-2'],
];

export function openTenants(path) {
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA busy_timeout = 2000;');
  db.exec('PRAGMA journal_mode = WAL;');
  db.exec('CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY, cell TEXT NOT NULL)');
  db.exec('BEGIN IMMEDIATE');
  if (db.prepare('SELECT count(*) AS n FROM tenants').get().n === 0) {
    const insert = db.prepare('INSERT INTO tenants (name, cell) VALUES (?, ?)');
    for (const [name, cell] of SEED) insert.run(name, cell);
  }
  db.exec('COMMIT');
  const cellOf = db.prepare('SELECT cell FROM tenants WHERE name = ?');
  return {
    cellOf: (name) => cellOf.get(name)?.cell ?? null,
    move: (name, cell) => db.prepare('INSERT OR REPLACE INTO tenants (name, cell) VALUES (?, ?)').run(name, cell),
    all: () => db.prepare('SELECT name, cell FROM tenants ORDER BY name').all(),
    close: () => db.close(),
  };
}

/** tenantOf is the tenant a Host names: the first label of <tenant>.localhost. */
export function tenantOf(host) {
  return (host ?? '').replace(/:\d+$/, '').toLowerCase().split('.')[0];
}
