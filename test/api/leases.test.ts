import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leaseSchema } from '../../src/api/schemas.ts';
import { createApp, createMachine, startApiNode, staticConfig, waitFor } from '../harness/api.ts';
import { startBackend } from '../harness/index.ts';

const NONCE = 'fly-machine-lease-nonce';

async function leased(t: Parameters<typeof startApiNode>[0]) {
  let clock = Date.now();
  const node = await startApiNode(t, '', { now: () => clock });
  const backend = await startBackend(t, (_req, res) => res.end('ok'));
  await createApp(node.api, 'tenant');
  const machine = await createMachine(node.api, 'tenant', { config: staticConfig(backend.address) });
  await waitFor(node.api, 'tenant', machine.id);
  const path = `/v1/apps/tenant/machines/${machine.id}`;
  const lease = await node.api.post(`${path}/lease`, { ttl: 60, description: 'deploy' });
  assert.equal(lease.status, 200);
  leaseSchema.parse(lease.body);
  return { ...node, backend, machine, path, nonce: lease.body.data.nonce as string, advance: (ms: number) => (clock += ms) };
}

test('while a machine is leased, changes without the nonce answer 409 lease_conflict and with it succeed', async (t) => {
  const { api, path, nonce, backend } = await leased(t);
  const config = staticConfig(backend.address, { env: { V: '2' } });
  for (const [method, sub, body] of [
    ['POST', '', { config }],
    ['POST', '/stop', {}],
    ['POST', '/cordon', undefined],
    ['POST', '/metadata/k', { value: 'v' }],
    ['DELETE', '?force=true', undefined],
  ] as const) {
    const res = await api.request(method, `${path}${sub}`, { body });
    assert.equal(res.status, 409, `${method} ${sub}`);
    assert.equal(res.body.code, 'lease_conflict', `${method} ${sub}`);
  }
  const wrong = await api.post(path, { config }, { headers: { [NONCE]: 'not-the-nonce' } });
  assert.equal(wrong.body.code, 'lease_conflict');
  const right = await api.post(path, { config }, { headers: { [NONCE]: nonce } });
  assert.equal(right.status, 200);
  assert.deepEqual(right.body.config.env, { V: '2' });
});

test('a second acquire answers 409; the holder refreshes with its nonce; release needs the nonce', async (t) => {
  const { api, path, nonce } = await leased(t);
  const other = await api.post(`${path}/lease`, {});
  assert.equal(other.status, 409);
  assert.equal(other.body.code, 'lease_conflict');
  const refreshed = await api.post(`${path}/lease`, { ttl: 120 }, { headers: { [NONCE]: nonce } });
  assert.equal(refreshed.status, 200);
  assert.equal(refreshed.body.data.nonce, nonce);
  assert.equal((await api.get(`${path}/lease`)).body.data.nonce, nonce);

  assert.equal((await api.delete(`${path}/lease`)).status, 409);
  assert.equal((await api.delete(`${path}/lease`, { headers: { [NONCE]: nonce } })).status, 200);
  const gone = await api.get(`${path}/lease`);
  assert.equal(gone.status, 404);
  assert.equal(gone.body.code, 'not_found');
  assert.equal((await api.post(`${path}/cordon`)).status, 200);
});

test('an expired lease no longer guards the machine; fly-go\'s ttl query parameter sets the life', async (t) => {
  const { api, path, advance, nonce } = await leased(t);
  const refreshed = await api.post(`${path}/lease?ttl=5`, undefined, { headers: { [NONCE]: nonce } });
  assert.equal(refreshed.status, 200);
  advance(6_000);
  assert.equal((await api.get(`${path}/lease`)).status, 404);
  assert.equal((await api.post(`${path}/cordon`)).status, 200);
});

test('create with lease_ttl answers with the nonce and the machine is leased', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('ok'));
  const { api } = await startApiNode(t);
  await createApp(api, 'tenant');
  const machine = await createMachine(api, 'tenant', { lease_ttl: 30, skip_launch: true, config: staticConfig(backend.address) });
  assert.match(machine.nonce, /^[0-9a-f]{12}$/);
  const path = `/v1/apps/tenant/machines/${machine.id}`;
  assert.equal((await api.post(`${path}/start`)).body.code, 'lease_conflict');
  assert.equal((await api.post(`${path}/start`, undefined, { headers: { [NONCE]: machine.nonce } })).status, 200);
});
