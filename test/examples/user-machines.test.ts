import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import type { RicochetNode } from '../../src/node.ts';
import { send } from '../harness/index.ts';
import { setEnv, startExample } from '../harness/examples.ts';

/** loadDrained resolves once the proxy counts no request or connection on the machine. */
function loadDrained(node: RicochetNode, machineId: string): Promise<void> {
  const load = node.runtime.load;
  if (load.load(machineId) === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const off = load.onRelease((id) => {
      if (id !== machineId || load.load(machineId) !== 0) return;
      off();
      resolve();
    });
  });
}

interface CreatedUser {
  user: string;
  app: string;
  machine: string;
}

test('the user-machines example, run from its ricochet.toml', async (t) => {
  let clock = Date.now();
  const { url, node } = await startExample(t, 'user-machines', {
    now: () => clock,
    patch: (table, dataDir) => {
      const usersDb = join(dataDir, 'users.db');
      setEnv(table, 'coordinator', {
        USERS_DB: usersDb,
        USER_DATA_DIR: join(dataDir, 'users'),
      });
      setEnv(table, 'router', { USERS_DB: usersDb });
    },
  });
  const publicUrl = url(80);
  const managementUrl = url(9090);

  let alice: CreatedUser = { user: '', app: '', machine: '' };
  await t.test('the coordinator creates an app and a started machine for a user through the Machines API', async () => {
    const res = await send(publicUrl, { host: 'coordinator.localhost', method: 'POST', path: '/users/alice' });
    assert.equal(res.status, 201, res.body);
    alice = JSON.parse(res.body) as CreatedUser;
    assert.equal(alice.app, 'user-alice');
    const machine = node.catalog.get(alice.machine);
    assert.equal(machine?.app, 'user-alice');
    assert.equal(machine?.state, 'started');
    assert.equal(machine?.origin, 'api');
  });

  await t.test('public traffic on port 80 is replayed to the user machine with app= and instance=', async () => {
    const res = await send(publicUrl, { host: 'alice.localhost' });
    assert.equal(res.status, 200);
    assert.match(res.body, /<h1>Hello from alice's machine<\/h1>/);
    assert.match(res.body, new RegExp(`machine ${alice.machine}`));
  });

  await t.test('management traffic on port 9090 reaches the machine\'s management service, and port 80 does not', async () => {
    const status = await send(managementUrl, { host: 'alice.localhost', path: '/status' });
    assert.equal(status.status, 200);
    assert.equal(JSON.parse(status.body).machine, alice.machine);
    const onPublic = await send(publicUrl, { host: 'alice.localhost', path: '/status' });
    assert.equal(onPublic.status, 404, 'the public service has no management routes');
  });

  await t.test('a user app is private: the proxy refuses it by its own name on both ports', async () => {
    for (const base of [publicUrl, managementUrl]) {
      const direct = await send(base, { host: 'user-alice.ricochet.internal', path: '/status' });
      assert.equal(direct.status, 404);
      assert.equal(direct.headers['ricochet-error'], 'RC01');
    }
  });

  await t.test('the machine, reached past the proxy, refuses requests that were not replayed with its app\'s key', async () => {
    const runtime = node.catalog.get(alice.machine)?.runtime;
    assert.ok(runtime);
    for (const port of Object.values(runtime.ports)) {
      const direct = await send(`http://${runtime.host}:${port}`, { host: 'alice.localhost', path: '/status' });
      assert.equal(direct.status, 401);
    }
  });

  await t.test('a WebSocket live preview opens through the replay and updates when content is pushed on 9090', async () => {
    const preview = new WebSocket(`${publicUrl.replace('http', 'ws')}/live`, { headers: { host: 'alice.localhost' } });
    const messages: string[] = [];
    preview.on('message', (data) => messages.push(String(data)));
    await once(preview, 'open');
    while (messages.length < 1) await once(preview, 'message');
    assert.equal(messages[0], "<h1>Hello from alice's machine</h1>");

    const put = await send(managementUrl, { host: 'alice.localhost', method: 'PUT', path: '/content', body: '<h1>Version 2</h1>' });
    assert.equal(put.status, 200);
    assert.deepEqual(JSON.parse(put.body), { ok: true, previews: 1 });
    while (messages.length < 2) await once(preview, 'message');
    assert.equal(messages[1], '<h1>Version 2</h1>');
    preview.close();
    await once(preview, 'close');
    await loadDrained(node, alice.machine);
  });

  await t.test('an idle machine stops, and the next request wakes it with its content intact', async () => {
    clock += node.config.machines.autostop_interval_ms + 1;
    const result = await node.autostop.pass();
    assert.ok(result.stopped.includes(alice.machine), `stopped: ${result.stopped.join(', ')}`);
    assert.equal(node.catalog.get(alice.machine)?.state, 'stopped');

    const res = await send(publicUrl, { host: 'alice.localhost' });
    assert.equal(res.status, 200);
    assert.match(res.body, /<h1>Version 2<\/h1>/);
    assert.equal(node.catalog.get(alice.machine)?.state, 'started');
  });

  await t.test('the router answers 404 for a user the coordinator never created', async () => {
    const res = await send(publicUrl, { host: 'mallory.localhost' });
    assert.equal(res.status, 404);
  });
});
