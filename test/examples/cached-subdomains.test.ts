import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { send } from '../harness/index.ts';
import { setEnv, startExample } from '../harness/examples.ts';

test('the cached-subdomains example, run from its ricochet.toml', async (t) => {
  let tenantsDb = '';
  const { url, node } = await startExample(t, 'cached-subdomains', {
    patch: (table, dataDir) => {
      tenantsDb = join(dataDir, 'tenants.db');
      for (const app of ['router', 'cell-1', 'cell-2']) setEnv(table, app, { TENANTS_DB: tenantsDb });
    },
  });
  const get = (path = '/') => send(url(), { host: 'acme.localhost', path });

  await t.test('the first request goes through the router, which caches the decision for the host', async () => {
    const res = await get('/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-cell'], 'cell-1');
    assert.match(res.body, /^fly-replay-cache-status: miss$/m);
    assert.match(res.body, /^fly-replay-src: instance=[0-9a-f]{14};region=iad;t=\d+$/m);
    assert.deepEqual(
      node.runtime.cache.list({ host: 'acme.localhost' }).map((e) => [e.sourceApp, e.prefix, e.route.app]),
      [['router', '/', 'cell-1']],
    );
  });

  await t.test('the next request for any path of the host never reaches the router: fly-replay-cache-status: hit', async () => {
    const res = await get('/pricing');
    assert.equal(res.headers['x-cell'], 'cell-1');
    assert.match(res.body, /^fly-replay-cache-status: hit$/m);
    assert.match(res.body, /^fly-replay-src: \(none/m, 'no fly-replay-src through the cache (spec §5.4)');
  });

  await t.test('another host is routed and cached on its own', async () => {
    const res = await send(url(), { host: 'globex.localhost' });
    assert.equal(res.headers['x-cell'], 'cell-2');
    assert.match(res.body, /^fly-replay-cache-status: miss$/m);
  });

  await t.test('when the tenant moves, the old cell invalidates the entry and the router routes to the new cell', async (t) => {
    const db = new DatabaseSync(tenantsDb);
    t.after(() => db.close());
    db.prepare('UPDATE tenants SET cell = ? WHERE name = ?').run('cell-2', 'acme');

    const moved = await get('/');
    assert.equal(moved.headers['x-cell'], 'cell-2');
    assert.match(moved.body, /^acme lives on cell-2$/m);
    assert.match(moved.body, /^fly-replay-cache-status: miss$/m);
    const stale = node.runtime.cache.list({ host: 'acme.localhost' }).filter((e) => e.route.app === 'cell-1');
    assert.deepEqual(stale, [], 'no cached decision sends acme to cell-1 any more');

    // Whether the router's answer on the way back is cached at once or on the next request is
    // the proxy's choice (docs/replay.md); either way the cache soon serves cell-2.
    const statuses: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await get('/');
      assert.equal(res.headers['x-cell'], 'cell-2');
      statuses.push(/^fly-replay-cache-status: (\w+)$/m.exec(res.body)?.[1] ?? '');
    }
    assert.equal(statuses.at(-1), 'hit');
  });
});
