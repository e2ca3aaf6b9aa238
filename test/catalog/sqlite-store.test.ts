import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { SqliteStore } from '../../src/catalog/sqlite-store.ts';
import { storeContract } from './store-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'ricochet-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeContract('SqliteStore on a file', () => {
  const path = join(dir, `state-${n++}`, 'catalog.db');
  return { store: new SqliteStore(path), reopen: () => new SqliteStore(path) };
});

storeContract('SqliteStore in memory', () => ({ store: new SqliteStore(':memory:'), reopen: null }));
