import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheEntriesSchema } from '../../src/api/schemas.ts';
import type { ReplayCache } from '../../src/replay/cache.ts';
import { createApp, startApiNode } from '../harness/api.ts';

const ROUTE = { app: 'worker', regions: null, instance: null, preferInstance: null, elsewhere: false };

function fill(cache: ReplayCache): void {
  for (const [app, host, path] of [
    ['router', 'a.example.test', '/api/users'],
    ['router', 'b.example.test', '/api/orders'],
    ['router', 'a.example.test', '/static/x'],
    ['other', 'a.example.test', '/api/users'],
  ] as const) {
    const prefix = path.split('/').slice(0, 2).join('/');
    const stored = cache.storePath(app, { host, path, header: () => undefined }, `${prefix}/*`, 60, false, ROUTE);
    assert.ok('key' in stored, JSON.stringify(stored));
  }
}

test('GET replay-cache lists an app\'s entries, filtered by host and prefix', async (t) => {
  const { api, node } = await startApiNode(t);
  await createApp(api, 'router');
  fill(node.runtime.cache);
  const all = await api.get('/v1/apps/router/replay-cache');
  assert.equal(all.status, 200);
  cacheEntriesSchema.parse(all.body);
  assert.equal(all.body.entries.length, 3);
  assert.equal(all.body.entries[0].route.app, 'worker');
  const filtered = await api.get('/v1/apps/router/replay-cache?host=a.example.test&prefix=/api');
  assert.deepEqual(filtered.body.entries.map((e: { host: string; prefix: string }) => `${e.host}${e.prefix}`), ['a.example.test/api']);
  const nodeWide = await api.get('/v1/replay-cache?prefix=/api');
  assert.equal(nodeWide.body.entries.length, 3);
});

test('DELETE replay-cache purges by host or prefix and says how many went', async (t) => {
  const { api, node } = await startApiNode(t);
  await createApp(api, 'router');
  fill(node.runtime.cache);
  assert.deepEqual((await api.delete('/v1/apps/router/replay-cache?host=b.example.test')).body, { purged: 1 });
  assert.deepEqual((await api.delete('/v1/apps/router/replay-cache')).body, { purged: 2 });
  assert.equal(node.runtime.cache.list({ app: 'other' }).length, 1);
  assert.deepEqual((await api.delete('/v1/replay-cache')).body, { purged: 1 });
});

test('a prefix that is not a path answers 400 naming prefix; an unknown app 404', async (t) => {
  const { api } = await startApiNode(t);
  await createApp(api, 'router');
  const bad = await api.get('/v1/apps/router/replay-cache?prefix=api');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.details[0].path, 'prefix');
  assert.equal((await api.get('/v1/apps/ghost/replay-cache')).status, 404);
});

test('deleting an app purges its replay cache entries', async (t) => {
  const { api, node } = await startApiNode(t);
  await createApp(api, 'router');
  fill(node.runtime.cache);
  assert.equal((await api.delete('/v1/apps/router')).status, 202);
  assert.equal(node.runtime.cache.list({ app: 'router' }).length, 0);
});
