// Who has which app and machine, and the app's pre-shared state key: written by the
// coordinator, read by the router on every request.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export function openUsers(path) {
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA busy_timeout = 2000;');
  db.exec('PRAGMA journal_mode = WAL;');
  db.exec('CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, app TEXT NOT NULL, machine TEXT NOT NULL, state_key TEXT NOT NULL)');
  return {
    get: (name) => db.prepare('SELECT name, app, machine, state_key FROM users WHERE name = ?').get(name) ?? null,
    put: (user) => db.prepare('INSERT OR REPLACE INTO users (name, app, machine, state_key) VALUES (?, ?, ?, ?)').run(user.name, user.app, user.machine, user.state_key),
    remove: (name) => db.prepare('DELETE FROM users WHERE name = ?').run(name),
    all: () => db.prepare('SELECT name, app, machine FROM users ORDER BY name').all(),
  };
}

/** userOf is the user a Host names: the first label of <user>.localhost. */
export function userOf(host) {
  return (host ?? '').replace(/:\d+$/, '').toLowerCase().split('.')[0];
}
