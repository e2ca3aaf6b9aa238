// A notes table in one SQLite file that stands in for a primary database and its read replica
// (think LiteFS). The primary sees every row at once; a replica sees a row only once it is
// REPLICATION_LAG_MS old, as a replica that applies the primary's log that far behind would.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export function nowMicros() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export function openNotes(path, { primary, lagMs }) {
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA busy_timeout = 2000;');
  db.exec('PRAGMA journal_mode = WAL;');
  db.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, committed_us INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO notes (text, committed_us) VALUES (?, ?) RETURNING id, text, committed_us');
  const visible = db.prepare('SELECT id, text, committed_us FROM notes WHERE committed_us <= ? ORDER BY id');
  return {
    list: () => visible.all(primary ? Number.MAX_SAFE_INTEGER : nowMicros() - lagMs * 1000),
    add: (text) => {
      if (!primary) throw new Error('read-only replica: writes go to the primary region');
      return insert.get(text, nowMicros());
    },
  };
}
