import assert from 'node:assert/strict';
import { test } from 'node:test';
import { send, startBackend } from '../harness/index.ts';
import { createApp, createMachine, startApiNode, staticConfig, waitFor } from '../harness/api.ts';

test('an app created with ricochet.public = false gets no Host route, and says so', async (t) => {
  const backend = await startBackend(t, (_req, res) => res.end('hidden'));
  const node = await startApiNode(t);
  await createApp(node.api, 'hidden', { ricochet: { public: false, hostnames: ['hidden.test'] } });
  const machine = await createMachine(node.api, 'hidden', { config: staticConfig(backend.address) });
  await waitFor(node.api, 'hidden', machine.id);
  const app = await node.api.get('/v1/apps/hidden');
  assert.equal(app.body.ricochet.public, false);
  for (const host of ['hidden.test', 'hidden.localhost']) {
    const res = await send(node.url(80), { host });
    assert.equal(res.status, 404, host);
  }
  assert.equal(backend.requests.length, 0);
});
