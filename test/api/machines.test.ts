import assert from 'node:assert/strict';
import { test } from 'node:test';
import { machineListSchema, machineSchema } from '../../src/api/schemas.ts';
import { createApp, createMachine, startApiNode, staticConfig, waitFor } from '../harness/api.ts';
import { startBackend } from '../harness/index.ts';

async function withApp(t: Parameters<typeof startApiNode>[0], toml = '') {
  const node = await startApiNode(t, toml);
  const backend = await startBackend(t, (_req, res) => res.end('ok'));
  await createApp(node.api, 'tenant');
  return { ...node, backend };
}

test('POST machines answers 200 with a created machine: 14-hex id, node region, instance_id, events', async (t) => {
  const { api, backend } = await withApp(t);
  const res = await api.post('/v1/apps/tenant/machines', { config: staticConfig(backend.address), skip_launch: true });
  assert.equal(res.status, 200);
  const machine = machineSchema.parse(res.body);
  assert.match(machine.id, /^[0-9a-f]{14}$/);
  assert.equal(machine.state, 'created');
  assert.equal(machine.region, 'iad');
  assert.match(machine.instance_id, /^[0-9A-Z]{26}$/);
  assert.equal(machine.events[0].status, 'created');
  assert.equal(machine.cordoned, false);
  // Fly's spelling of autostop comes back: false for "off".
  assert.equal((res.body.config.services[0] as { autostop: unknown }).autostop, false);
});

test('GET machine and GET machines list it; filters by region and metadata; include_deleted shows destroyed ones', async (t) => {
  const { api, backend } = await withApp(t, '[regions]\nsjc = 60\n');
  const a = await createMachine(api, 'tenant', { config: staticConfig(backend.address, { metadata: { tenant: 'a' } }), skip_launch: true });
  const b = await createMachine(api, 'tenant', { region: 'sjc', config: staticConfig(backend.address, { metadata: { tenant: 'b' } }), skip_launch: true });

  const one = await api.get(`/v1/apps/tenant/machines/${a.id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.id, a.id);

  const all = await api.get('/v1/apps/tenant/machines');
  machineListSchema.parse(all.body);
  assert.deepEqual(all.body.map((m: { id: string }) => m.id).sort(), [a.id, b.id].sort());
  const sjc = await api.get('/v1/apps/tenant/machines?region=sjc');
  assert.deepEqual(sjc.body.map((m: { id: string }) => m.id), [b.id]);
  const tagged = await api.get('/v1/apps/tenant/machines?metadata.tenant=a');
  assert.deepEqual(tagged.body.map((m: { id: string }) => m.id), [a.id]);

  assert.equal((await api.delete(`/v1/apps/tenant/machines/${a.id}`)).status, 200);
  const live = await api.get('/v1/apps/tenant/machines');
  assert.deepEqual(live.body.map((m: { id: string }) => m.id), [b.id]);
  const withDeleted = await api.get('/v1/apps/tenant/machines?include_deleted=true');
  assert.equal(withDeleted.body.find((m: { id: string }) => m.id === a.id).state, 'destroyed');
});

test('unknown apps and machines answer 404 on every machine route', async (t) => {
  const { api } = await withApp(t);
  const paths = [
    ['GET', '/v1/apps/ghost/machines'],
    ['POST', '/v1/apps/ghost/machines'],
    ['GET', '/v1/apps/tenant/machines/00000000000000'],
    ['GET', '/v1/apps/tenant/machines/not-an-id'],
    ['POST', '/v1/apps/tenant/machines/00000000000000'],
    ['DELETE', '/v1/apps/tenant/machines/00000000000000'],
    ['POST', '/v1/apps/tenant/machines/00000000000000/start'],
    ['POST', '/v1/apps/tenant/machines/00000000000000/stop'],
    ['POST', '/v1/apps/tenant/machines/00000000000000/suspend'],
    ['GET', '/v1/apps/tenant/machines/00000000000000/wait'],
    ['POST', '/v1/apps/tenant/machines/00000000000000/cordon'],
    ['POST', '/v1/apps/tenant/machines/00000000000000/uncordon'],
    ['GET', '/v1/apps/tenant/machines/00000000000000/metadata'],
    ['GET', '/v1/apps/tenant/machines/00000000000000/lease'],
  ] as const;
  for (const [method, path] of paths) {
    const body = method === 'POST' && !/\/(start|stop|suspend|cordon|uncordon)$/.test(path) ? { config: { init: { exec: ['x'] } } } : undefined;
    const res = await api.request(method, path, { body });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(res.body.code, 'not_found', `${method} ${path}`);
  }
});

test('a bad config answers 422 with the JSON path and the rule of every problem', async (t) => {
  const { api } = await withApp(t);
  const res = await api.post('/v1/apps/tenant/machines', {
    config: {
      init: { exec: ['node'] },
      services: [{ protocol: 'tcp', internal_port: 70000, ports: [] }],
      restart: { policy: 'sometimes' },
    },
  });
  assert.equal(res.status, 422);
  assert.equal(res.body.code, 'validation_failed');
  const paths = res.body.details.map((d: { path: string }) => d.path);
  assert.ok(paths.includes('config.services[0].internal_port'), paths.join());
  assert.ok(paths.includes('config.services[0].ports'), paths.join());
  assert.ok(paths.includes('config.restart.policy'), paths.join());
  const ports = res.body.details.find((d: { path: string }) => d.path === 'config.services[0].ports');
  assert.match(ports.rule, /at least 1/);
});

test('a process machine without a command, a missing config, or an unknown region answers 422', async (t) => {
  const { api, backend } = await withApp(t);
  const noCommand = await api.post('/v1/apps/tenant/machines', { config: { ricochet: { driver: 'process' } } });
  assert.equal(noCommand.status, 422);
  assert.equal(noCommand.body.details[0].path, 'config.init.exec');
  const noConfig = await api.post('/v1/apps/tenant/machines', { region: 'iad' });
  assert.equal(noConfig.status, 422);
  assert.deepEqual(noConfig.body.details[0], { path: 'config', rule: 'is required' });
  const noAddress = await api.post('/v1/apps/tenant/machines', { config: { ricochet: { driver: 'static' } } });
  assert.equal(noAddress.body.details[0].path, 'config.ricochet.address');
  const region = await api.post('/v1/apps/tenant/machines', { region: 'Mars-1', config: staticConfig(backend.address) });
  assert.equal(region.status, 422);
  assert.equal(region.body.details[0].path, 'region');
});

test('a machine name is unique within its app: a second one answers 409', async (t) => {
  const { api, backend } = await withApp(t);
  await createMachine(api, 'tenant', { name: 'web-1', config: staticConfig(backend.address), skip_launch: true });
  const dup = await api.post('/v1/apps/tenant/machines', { name: 'web-1', config: staticConfig(backend.address), skip_launch: true });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.code, 'already_exists');
});

test('update replaces the whole config, changes instance_id, and refuses a new region or name with 422', async (t) => {
  const { api, backend, node } = await withApp(t);
  const machine = await createMachine(api, 'tenant', { config: staticConfig(backend.address, { env: { A: '1' } }) });
  await waitFor(api, 'tenant', machine.id);

  const updated = await api.post(`/v1/apps/tenant/machines/${machine.id}`, { config: staticConfig(backend.address, { env: { B: '2' } }) });
  assert.equal(updated.status, 200);
  assert.deepEqual(updated.body.config.env, { B: '2' });
  assert.notEqual(updated.body.instance_id, machine.instance_id);
  // The old instance counts as stopped; the new one starts again.
  await waitFor(api, 'tenant', machine.id, `state=stopped&instance_id=${machine.instance_id}&timeout=5`);
  await waitFor(api, 'tenant', machine.id, 'state=started&timeout=5');
  assert.deepEqual(node.catalog.get(machine.id)?.config.env, { B: '2' });

  const region = await api.post(`/v1/apps/tenant/machines/${machine.id}`, { region: 'sjc', config: staticConfig(backend.address) });
  assert.equal(region.status, 422);
  assert.equal(region.body.details[0].path, 'region');
  const name = await api.post(`/v1/apps/tenant/machines/${machine.id}`, { name: 'other', config: staticConfig(backend.address) });
  assert.equal(name.body.details[0].path, 'name');
});

test('destroying a started machine needs force (409 without); a destroyed machine refuses actions with 409', async (t) => {
  const { api, backend } = await withApp(t);
  const machine = await createMachine(api, 'tenant', { config: staticConfig(backend.address) });
  await waitFor(api, 'tenant', machine.id);
  const refused = await api.delete(`/v1/apps/tenant/machines/${machine.id}`);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'state_conflict');
  assert.equal((await api.delete(`/v1/apps/tenant/machines/${machine.id}?force=true`)).status, 200);
  await waitFor(api, 'tenant', machine.id, 'state=destroyed&timeout=5');
  for (const action of ['start', 'stop', 'suspend']) {
    const res = await api.post(`/v1/apps/tenant/machines/${machine.id}/${action}`);
    assert.equal(res.status, 409, action);
    assert.equal(res.body.code, 'state_conflict', action);
  }
  const update = await api.post(`/v1/apps/tenant/machines/${machine.id}`, { config: staticConfig(backend.address) });
  assert.equal(update.status, 409);
});

test('a machine declared in ricochet.toml can be stopped but not updated or destroyed through the API', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('ok'));
  const { api, node } = await startApiNode(
    t,
    `[[apps]]\nname = "declared"\n[apps.http_service]\ninternal_port = 8080\n[[apps.machines]]\nid = "0123456789abcd"\naddress = "${backend.address}"\n`,
  );
  const path = '/v1/apps/declared/machines/0123456789abcd';
  assert.equal((await api.post(`${path}/stop`)).status, 200);
  await waitFor(api, 'declared', '0123456789abcd', 'state=stopped&timeout=5');
  const update = await api.post(path, { config: staticConfig(backend.address) });
  assert.equal(update.status, 409);
  assert.equal(update.body.code, 'config_owned');
  assert.equal((await api.delete(`${path}?force=true`)).body.code, 'config_owned');
  assert.equal(node.catalog.get('0123456789abcd')?.state, 'stopped');
});
