import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { send } from '../harness/index.ts';
import { setEnv, startExample } from '../harness/examples.ts';

// One node for the file: starting the example's four machines is the slow part.
test('the host-router example, run from its ricochet.toml', async (t) => {
  let routesDb = '';
  const { url, node } = await startExample(t, 'host-router', {
    patch: (table, dataDir) => {
      routesDb = join(dataDir, 'routes.db');
      setEnv(table, 'router', { ROUTES_DB: routesDb });
    },
  });

  await t.test('replays a host in the routing table to its customer app, with a state the app verifies', async () => {
    const res = await send(url(), { host: 'acme.localhost' });
    assert.equal(res.status, 200);
    assert.match(res.body, /^Acme Corp: welcome to acme\.localhost$/m);
    assert.match(res.body, /served by app customer-acme/);
    assert.match(res.body, /routed by router machine [0-9a-f]{14}/);
    const globex = await send(url(), { host: 'GLOBEX.localhost:8080' });
    assert.match(globex.body, /^Globex: welcome to globex\.localhost$/m);
  });

  await t.test('replays an unknown host to the default app', async () => {
    const res = await send(url(), { host: 'nobody.localhost' });
    assert.equal(res.status, 404);
    assert.match(res.body, /^No site lives at nobody\.localhost yet/);
  });

  await t.test('routes the next request by a row added to the SQLite table, without a restart', async (t) => {
    assert.equal((await send(url(), { host: 'shop.localhost' })).status, 404);
    const db = new DatabaseSync(routesDb);
    t.after(() => db.close());
    db.prepare('INSERT INTO routes (hostname, app) VALUES (?, ?)').run('shop.localhost', 'customer-globex');
    const res = await send(url(), { host: 'shop.localhost' });
    assert.equal(res.status, 200);
    assert.match(res.body, /^Globex: welcome to shop\.localhost$/m);
  });

  await t.test('the proxy refuses a customer app by its own name: it is private, only replays reach it', async () => {
    for (const host of ['customer-acme.ricochet.internal', 'customer-acme.localhost']) {
      const res = await send(url(), { host });
      assert.notEqual(res.status, 200, host);
      assert.doesNotMatch(res.body, /Acme Corp/, host);
    }
    const own = await send(url(), { host: 'customer-acme.ricochet.internal' });
    assert.equal(own.status, 404);
    assert.equal(own.headers['ricochet-error'], 'RC01');
  });

  await t.test('a customer machine reached directly, past the proxy, refuses a request without the router\'s state', async () => {
    const runtime = node.catalog.machines('customer-acme')[0].runtime!;
    const res = await send(`http://${runtime.host}:${runtime.ports['8080']}`, { host: 'acme.localhost' });
    assert.equal(res.status, 401);
  });
});
