import assert from 'node:assert/strict';
import test from 'node:test';
import { PathIndex } from '../../src/replay/cache-path-index.ts';

const entry = (sourceApp: string, host: string, prefix: string) => ({ sourceApp, host, prefix });

test('PathIndex finds the entries of one app and host by prefix, and no other', () => {
  const index = new PathIndex<ReturnType<typeof entry>>();
  const root = entry('router', 'a.example.com', '/');
  const api = entry('router', 'a.example.com', '/api');
  index.add(root);
  index.add(api);
  index.add(entry('router', 'b.example.com', '/'));
  index.add(entry('other', 'a.example.com', '/'));
  const prefixes = index.prefixes('router', 'a.example.com');
  assert.deepEqual([...(prefixes?.keys() ?? [])], ['/', '/api']);
  assert.equal(prefixes?.get('/api'), api);
  assert.equal(index.prefixes('router', 'c.example.com'), undefined);
  assert.equal(index.prefixes('nobody', 'a.example.com'), undefined);
});

test('PathIndex removes only the entry it holds, and forgets an app and host once they have none', () => {
  const index = new PathIndex<ReturnType<typeof entry>>();
  const first = entry('router', 'a.example.com', '/');
  const replacement = entry('router', 'a.example.com', '/');
  index.add(first);
  index.add(replacement);
  // The replaced entry is gone already: removing it must not drop its replacement.
  index.remove(first);
  assert.equal(index.prefixes('router', 'a.example.com')?.get('/'), replacement);
  index.remove(replacement);
  assert.equal(index.prefixes('router', 'a.example.com'), undefined);
});
