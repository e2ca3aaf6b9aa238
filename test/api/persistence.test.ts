import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp, createMachine, echoConfig, startApiNode, staticConfig, waitFor } from '../harness/api.ts';
import { send, startBackend } from '../harness/index.ts';

test('apps and machines survive a node restart; started machines come back started, stopped ones stay stopped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-api-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = `state = "${join(dir, 'state.db')}"\n`;
  const backend = await startBackend(t, (_req, res) => res.end('static'));

  const first = await startApiNode(t, state);
  await createApp(first.api, 'tenant', { org_slug: 'acme', ricochet: { hostnames: ['tenant.example.test'] } });
  const running = await createMachine(first.api, 'tenant', { config: echoConfig({ metadata: { role: 'web' } }) });
  const stopped = await createMachine(first.api, 'tenant', { config: staticConfig(backend.address) });
  const created = await createMachine(first.api, 'tenant', { config: staticConfig(backend.address), skip_launch: true });
  await waitFor(first.api, 'tenant', running.id);
  await waitFor(first.api, 'tenant', stopped.id);
  await first.api.post(`/v1/apps/tenant/machines/${stopped.id}/stop`);
  await waitFor(first.api, 'tenant', stopped.id, 'state=stopped&timeout=5');
  await first.node.stop();

  const second = await startApiNode(t, state);
  const app = await second.api.get('/v1/apps/tenant');
  assert.equal(app.status, 200);
  assert.equal(app.body.organization.slug, 'acme');
  await waitFor(second.api, 'tenant', running.id, 'state=started&timeout=20');
  const machines = await second.api.get('/v1/apps/tenant/machines');
  const states = Object.fromEntries(machines.body.map((m: { id: string; state: string }) => [m.id, m.state]));
  assert.deepEqual(states, { [running.id]: 'started', [stopped.id]: 'stopped', [created.id]: 'created' });
  const shown = await second.api.get(`/v1/apps/tenant/machines/${running.id}`);
  assert.deepEqual(shown.body.config.metadata, { role: 'web' });
  assert.equal(shown.body.instance_id, running.instance_id);

  const res = await send(second.url(), { host: 'tenant.example.test' });
  assert.equal(res.status, 200);
  assert.equal((JSON.parse(res.body) as { env: Record<string, string> }).env.FLY_MACHINE_ID, running.id);
});
