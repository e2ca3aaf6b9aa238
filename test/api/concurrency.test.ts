import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DESTROYED_KEPT_PER_APP } from '../../src/api/machine-lifecycle.ts';
import { SqliteStore } from '../../src/catalog/sqlite-store.ts';
import { isAlive } from '../machines/fixture-apps.ts';
import { createApp, sleepConfig, startApiNode } from '../harness/api.ts';

const CREATES = 500;

test('500 concurrent machine creates leave a consistent catalog, and destroying them leaves no process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-api-many-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.db');
  const { api, node } = await startApiNode(t, `state = "${file}"\n`, { logLevel: 'warn' });
  await createApp(api, 'fleet');

  const answers = await Promise.all(
    Array.from({ length: CREATES }, (_, i) => api.post('/v1/apps/fleet/machines', { name: `m-${i}`, config: sleepConfig() })),
  );
  assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
  const ids = answers.map((a) => a.body.id as string);
  assert.equal(new Set(ids).size, CREATES);

  await Promise.all(ids.map((id) => api.get(`/v1/apps/fleet/machines/${id}/wait?state=started&timeout=60`).then((r) => assert.equal(r.status, 200, id))));
  const listed = await api.get('/v1/apps/fleet/machines');
  assert.equal(listed.body.length, CREATES);
  assert.ok(listed.body.every((m: { state: string }) => m.state === 'started'));
  assert.equal((await api.get('/v1/apps/fleet')).body.machine_count, CREATES);

  // What is on disk is what the node holds.
  const store = new SqliteStore(file);
  const onDisk = store.load().machines.filter((m) => m.app === 'fleet');
  store.close();
  assert.equal(onDisk.length, CREATES);
  assert.deepEqual(new Set(onDisk.map((m) => m.id)), new Set(ids));
  assert.deepEqual(new Set(onDisk.map((m) => m.name)).size, CREATES);

  const pids = ids.map((id) => node.catalog.get(id)?.runtime?.pid ?? 0);
  assert.ok(pids.every((pid) => pid > 0));
  const destroyed = await Promise.all(ids.map((id) => api.delete(`/v1/apps/fleet/machines/${id}?force=true`)));
  assert.deepEqual([...new Set(destroyed.map((d) => d.status))], [200]);
  // A destroyed record is kept for include_deleted, the newest DESTROYED_KEPT_PER_APP of them.
  const waits = await Promise.all(ids.map((id) => api.get(`/v1/apps/fleet/machines/${id}/wait?state=destroyed&timeout=60`)));
  assert.deepEqual([...new Set(waits.map((w) => w.status))].sort(), [200, 404]);
  assert.deepEqual(pids.filter(isAlive), []);
  assert.equal((await api.get('/v1/apps/fleet/machines')).body.length, 0);
  const kept = await api.get('/v1/apps/fleet/machines?include_deleted=true');
  assert.equal(kept.body.length, DESTROYED_KEPT_PER_APP);
  assert.ok(kept.body.every((m: { state: string }) => m.state === 'destroyed'));
});
