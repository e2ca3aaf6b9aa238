// The routing table, shared by the router and the `routes.js` command: one SQLite table that
// maps a hostname to the app serving it. Any process may change it; the router reads it on
// every request, so a change applies at once.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const SEED = [
  ['acme.localhost', 'customer-acme'],
  ['www.acme.localhost', 'customer-acme'],
  ['globex.localhost', 'customer-globex'],
];

export function openRoutes(path) {
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 1000;');
  db.exec('CREATE TABLE IF NOT EXISTS routes (hostname TEXT PRIMARY KEY, app TEXT NOT NULL)');
  if (db.prepare('SELECT count(*) AS n FROM routes').get().n === 0) {
    const insert = db.prepare('INSERT INTO routes (hostname, app) VALUES (?, ?)');
    for (const [hostname, app] of SEED) insert.run(hostname, app);
  }
  const lookup = db.prepare('SELECT app FROM routes WHERE hostname = ?');
  return {
    lookup: (hostname) => lookup.get(hostname)?.app ?? null,
    set: (hostname, app) => db.prepare('INSERT OR REPLACE INTO routes (hostname, app) VALUES (?, ?)').run(hostname, app),
    remove: (hostname) => db.prepare('DELETE FROM routes WHERE hostname = ?').run(hostname),
    all: () => db.prepare('SELECT hostname, app FROM routes ORDER BY hostname').all(),
    close: () => db.close(),
  };
}
