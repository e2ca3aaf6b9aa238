import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp, runCli, startApiNode } from '../harness/api.ts';


test('apps create, list (table and --json) and destroy; a duplicate exits 4', async (t) => {
  const { node } = await startApiNode(t);
  const cli = (...args: string[]) => runCli(args, {}, { api: node.apiUrl });
  const created = await cli('apps', 'create', 'shop', '--org', 'acme');
  assert.equal(created.code, 0, created.stderr);
  const [table, json, dup] = await Promise.all([cli('apps', 'list'), cli('apps', 'list', '--json'), cli('apps', 'create', 'shop')]);
  assert.match(table.stdout, /^NAME\s+MACHINES\s+NETWORK\nshop\s+0\s+default\n$/);
  assert.equal(JSON.parse(json.stdout).apps[0].name, 'shop');
  assert.equal(dup.code, 4);
  assert.match(dup.stderr, /already_exists/);
  assert.equal((await cli('apps', 'destroy', 'shop')).code, 0);
  assert.equal(node.catalog.app('shop'), undefined);
});

test('cache list and purge show and remove replay cache entries', async (t) => {
  const { node } = await startApiNode(t);
  await createApp(apiOf(node.apiUrl), 'router');
  const route = { app: 'worker', regions: null, instance: null, preferInstance: null, elsewhere: false };
  node.runtime.cache.storePath('router', { host: 'a.test', path: '/api/x', header: () => undefined }, '/api/*', 60, false, route);
  const list = await runCli(['cache', 'list', '--app', 'router'], {}, { api: node.apiUrl });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^router\s+a\.test\s+\/api\s+path\s+app=worker/m);
  const purge = await runCli(['cache', 'purge', '--app', 'router', '--prefix', '/api', '--json'], {}, { api: node.apiUrl });
  assert.deepEqual(JSON.parse(purge.stdout), { purged: 1 });
});

test('--token and $RICOCHET_API_TOKEN authenticate; without them the CLI exits 6; an unreachable API exits 8', async (t) => {
  const { node } = await startApiNode(t, '', { token: 'cli-token' });
  const [none, flag, env, unreachable] = await Promise.all([
    runCli(['apps', 'list'], {}, { api: node.apiUrl }),
    runCli(['apps', 'list', '--token', 'cli-token', '--api', node.apiUrl]),
    runCli(['apps', 'list'], { RICOCHET_API_TOKEN: 'cli-token' }, { api: node.apiUrl }),
    runCli(['apps', 'list', '--api', 'http://127.0.0.1:1']),
  ]);
  assert.equal(none.code, 6);
  assert.equal(flag.code, 0, flag.stderr);
  assert.equal(env.code, 0, env.stderr);
  assert.equal(unreachable.code, 8);
});

function apiOf(url: string) {
  return { url, post: (path: string, body: unknown) => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() })) } as unknown as Parameters<typeof createApp>[0];
}
