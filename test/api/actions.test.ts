import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Catalog } from '../../src/catalog/catalog.ts';
import { SqliteStore } from '../../src/catalog/sqlite-store.ts';
import type { Machine } from '../../src/catalog/types.ts';
import { WaitRegistry } from '../../src/api/wait-registry.ts';
import { createApp, createMachine, startApiNode, staticConfig, waitFor } from '../harness/api.ts';
import { startBackend } from '../harness/index.ts';

async function started(t: Parameters<typeof startApiNode>[0]) {
  const node = await startApiNode(t);
  const backend = await startBackend(t, (_req, res) => res.end('ok'));
  await createApp(node.api, 'tenant');
  const machine = await createMachine(node.api, 'tenant', { config: staticConfig(backend.address) });
  await waitFor(node.api, 'tenant', machine.id);
  return { ...node, backend, machine, path: `/v1/apps/tenant/machines/${machine.id}` };
}

test('wait answers 408 wait_timeout when the state is not reached in time', async (t) => {
  const { api, path } = await started(t);
  const res = await api.get(`${path}/wait?state=stopped&timeout=1`);
  assert.equal(res.status, 408);
  assert.equal(res.body.code, 'wait_timeout');
});

test('wait answers 400 for a state it cannot wait for or a timeout above 60 s', async (t) => {
  const { api, path } = await started(t);
  for (const query of ['state=exploded', 'timeout=61', 'timeout=0', 'timeout=soon']) {
    const res = await api.get(`${path}/wait?${query}`);
    assert.equal(res.status, 400, query);
    assert.equal(res.body.code, 'invalid_request', query);
  }
});

test('wait with a repeated state answers once the machine is in any of them', async (t) => {
  const { api, path } = await started(t);
  assert.equal((await api.get(`${path}/wait?state=stopped&state=started&timeout=1`)).status, 200);
});

test('stop with a bad signal or timeout answers 422 naming the field', async (t) => {
  const { api, path } = await started(t);
  const signal = await api.post(`${path}/stop`, { signal: 'SIGNOPE' });
  assert.equal(signal.status, 422);
  assert.equal(signal.body.details[0].path, 'signal');
  const timeout = await api.post(`${path}/stop`, { timeout: '10 minutes' });
  assert.equal(timeout.body.details[0].path, 'timeout');
});

test('suspending a stopped machine answers 409 state_conflict', async (t) => {
  const { api, path, machine } = await started(t);
  await api.post(`${path}/stop`);
  await waitFor(api, 'tenant', machine.id, 'state=stopped&timeout=5');
  const res = await api.post(`${path}/suspend`);
  assert.equal(res.status, 409);
  assert.equal(res.body.code, 'state_conflict');
});

test('metadata keys are set, listed and deleted, without restarting the machine', async (t) => {
  const { api, path, machine } = await started(t);
  assert.equal((await api.post(`${path}/metadata/tenant`, { value: '42' })).status, 204);
  assert.deepEqual((await api.get(`${path}/metadata`)).body, { tenant: '42' });
  const listed = await api.get('/v1/apps/tenant/machines?metadata.tenant=42');
  assert.equal(listed.body.length, 1);
  assert.equal(listed.body[0].instance_id, machine.instance_id);
  assert.equal(listed.body[0].state, 'started');
  assert.equal((await api.delete(`${path}/metadata/tenant`)).status, 204);
  assert.deepEqual((await api.get(`${path}/metadata`)).body, {});

  const badKey = await api.post(`${path}/metadata/${encodeURIComponent('no spaces')}`, { value: 'x' });
  assert.equal(badKey.status, 400);
  assert.equal(badKey.body.details[0].path, 'key');
  const noValue = await api.post(`${path}/metadata/ok`, { value: 7 });
  assert.equal(noValue.status, 422);
  assert.equal(noValue.body.details[0].path, 'value');
});

test('a wrong method answers 405 with Allow, an unknown path 404', async (t) => {
  const { api, path } = await started(t);
  const res = await api.request('DELETE', `${path}/start`);
  assert.equal(res.status, 405);
  assert.equal(res.body.code, 'method_not_allowed');
  assert.equal(res.headers.allow, 'POST');
  const unknown = await api.get('/v2/anything');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'not_found');
});

function machineRecord(id: string, state: Machine['state']): Machine {
  const now = new Date(0).toISOString();
  return {
    id,
    app: 'a',
    name: id,
    region: 'iad',
    state,
    instance_id: '1',
    config: { image: '', env: {}, services: [], checks: {}, metadata: {}, init: {}, restart: { policy: 'no' }, stop_config: {}, auto_destroy: false, ricochet: { driver: 'static', address: '127.0.0.1:1' } },
    cordoned: false,
    created_at: now,
    updated_at: now,
    events: [],
    checks: [],
    runtime: null,
    origin: 'api',
    lease: null,
  };
}

test('WaitRegistry refuses waits past its bound with too_many_waits, and answers when the record changes', async (t) => {
  const catalog = new Catalog(new SqliteStore(':memory:'), { baseDomain: 'localhost' });
  t.after(() => catalog.close());
  catalog.putApp({ name: 'a', id: 'a', org: 'personal', network: 'default', hostnames: [], primary_region: 'iad', created_at: '', origin: 'api' });
  catalog.putMachine(machineRecord('00000000000001', 'stopped'));
  const timers: (() => void)[] = [];
  const waits = new WaitRegistry(catalog, { max: 2, setTimer: (fn) => timers.push(fn), clearTimer: () => {} });
  const signal = new AbortController().signal;
  const isStarted = (m: Machine | undefined) => m?.state === 'started';
  const first = waits.wait('00000000000001', isStarted, 1000, signal);
  const second = waits.wait('00000000000001', isStarted, 1000, signal);
  assert.throws(() => waits.wait('00000000000001', isStarted, 1000, signal), { code: 'too_many_waits' });
  catalog.update('00000000000001', { state: 'started' });
  assert.deepEqual(await Promise.all([first, second]), ['reached', 'reached']);
  const third = waits.wait('00000000000001', (m) => m?.state === 'destroyed', 1000, signal);
  timers.at(-1)?.();
  assert.equal(await third, 'timeout');
  waits.close();
});
