import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appCreatedSchema, appListSchema, appSchema, errorSchema } from '../../src/api/schemas.ts';
import { createApp, createMachine, startApiNode, staticConfig } from '../harness/api.ts';
import { startBackend } from '../harness/index.ts';

test('POST /v1/apps creates an app with 201 and GET shows it with its organization', async (t) => {
  const { api } = await startApiNode(t);
  const created = await api.post('/v1/apps', { app_name: 'tenant-1', org_slug: 'acme' });
  assert.equal(created.status, 201);
  appCreatedSchema.parse(created.body);
  assert.equal(created.body.id, 'tenant-1');

  const shown = await api.get('/v1/apps/tenant-1');
  assert.equal(shown.status, 200);
  appSchema.parse(shown.body);
  assert.deepEqual(shown.body.organization, { name: 'acme', slug: 'acme' });
  assert.equal(shown.body.status, 'pending');
  assert.equal(shown.body.ricochet.origin, 'api');
});

test('org_slug defaults to "personal" and GET /v1/apps filters by org_slug', async (t) => {
  const { api } = await startApiNode(t);
  assert.equal((await api.post('/v1/apps', { app_name: 'mine' })).status, 201);
  await createApp(api, 'theirs', { org_slug: 'acme' });
  const personal = await api.get('/v1/apps?org_slug=personal');
  assert.equal(personal.status, 200);
  appListSchema.parse(personal.body);
  assert.deepEqual(personal.body.apps.map((a: { name: string }) => a.name), ['mine']);
  const all = await api.get('/v1/apps');
  assert.equal(all.body.total_apps, 2);
});

test('creating an app twice answers 409 already_exists', async (t) => {
  const { api } = await startApiNode(t);
  await createApp(api, 'dup');
  const again = await api.post('/v1/apps', { app_name: 'dup' });
  assert.equal(again.status, 409);
  assert.equal(again.body.code, 'already_exists');
  errorSchema.parse(again.body);
});

test('an invalid app name answers 422 naming app_name and the rule', async (t) => {
  const { api } = await startApiNode(t);
  const res = await api.post('/v1/apps', { app_name: 'Not_Valid-' });
  assert.equal(res.status, 422);
  assert.equal(res.body.code, 'validation_failed');
  assert.equal(res.body.details[0].path, 'app_name');
  assert.match(res.body.details[0].rule, /app name/);
});

test('a hostname another app claims answers 409 naming the hostname', async (t) => {
  const { api } = await startApiNode(t);
  await createApp(api, 'first', { ricochet: { hostnames: ['shop.example.com'] } });
  const res = await api.post('/v1/apps', { app_name: 'second', ricochet: { hostnames: ['shop.example.com'] } });
  assert.equal(res.status, 409);
  assert.equal(res.body.details[0].path, 'ricochet.hostnames[0]');
});

test('GET and DELETE of an app that does not exist answer 404 not_found', async (t) => {
  const { api } = await startApiNode(t);
  for (const res of [await api.get('/v1/apps/ghost'), await api.delete('/v1/apps/ghost')]) {
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'not_found');
  }
});

test('deleting an app with a started machine needs force, then removes app and machines', async (t) => {
  const { api, node } = await startApiNode(t);
  const backend = await startBackend(t, (_req, res) => res.end('ok'));
  await createApp(api, 'gone');
  const machine = await createMachine(api, 'gone', { config: staticConfig(backend.address) });
  assert.equal((await api.get(`/v1/apps/gone/machines/${machine.id}/wait?state=started&timeout=5`)).status, 200);

  const refused = await api.delete('/v1/apps/gone');
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'state_conflict');

  const deleted = await api.delete('/v1/apps/gone?force=true');
  assert.equal(deleted.status, 202);
  assert.equal(node.catalog.app('gone'), undefined);
  assert.equal(node.catalog.get(machine.id), undefined);
  assert.equal((await api.get('/v1/apps/gone')).status, 404);
});

test('an app declared in ricochet.toml cannot be deleted through the API', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('ok'));
  const { api } = await startApiNode(
    t,
    `[[apps]]\nname = "declared"\n[apps.http_service]\ninternal_port = 8080\n[[apps.machines]]\naddress = "${backend.address}"\n`,
  );
  const res = await api.delete('/v1/apps/declared?force=true');
  assert.equal(res.status, 409);
  assert.equal(res.body.code, 'config_owned');
});
