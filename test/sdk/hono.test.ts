import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { test, type TestContext } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { send } from '../harness/index.ts';
import {
  honoReplay,
  honoRequireReplayState,
  honoRequireSignedState,
  hostCachePattern,
  replayCacheStatusOf,
  replayResponse,
  signState,
  type RicochetVariables,
} from '../../src/sdk/index.ts';
import { addressOf, ROUTER_HOST, startReplayPair, TARGET_DIRECT_HOST } from './replay-pair.ts';

const PRESHARED = 'target-app-preshared-key';
const SIGNING_KEY = 'signing-key-of-at-least-16-bytes';

async function listen(t: TestContext, app: { fetch: (request: Request) => Response | Promise<Response> }): Promise<string> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  if (!server.listening) await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return addressOf(server);
}

test('Hono: honoReplay replays and honoRequireReplayState admits it, with c.get("replaySrc")', async (t) => {
  const router = new Hono();
  router.get('*', () => honoReplay({ app: 'target', state: PRESHARED }));
  const target = new Hono<{ Variables: RicochetVariables }>();
  target.use(honoRequireReplayState(PRESHARED));
  target.get('*', (c) => c.text(`replayed from ${c.get('replaySrc')?.region}`));
  const { url } = await startReplayPair(t, await listen(t, router), await listen(t, target));
  const res = await send(url(), { host: ROUTER_HOST });
  assert.equal(res.status, 200);
  assert.equal(res.body, 'replayed from iad');
  assert.equal((await send(url(), { host: TARGET_DIRECT_HOST })).status, 401);
});

test('Hono: honoRequireSignedState sets c.get("replayState") to the signed payload', async (t) => {
  const router = new Hono();
  router.get('*', async (c) => honoReplay({ app: 'target', state: await signState({ path: c.req.path }, SIGNING_KEY, { ttlSeconds: 30 }) }));
  const target = new Hono<{ Variables: RicochetVariables }>();
  target.get('*', honoRequireSignedState(SIGNING_KEY), (c) => c.json(c.get('replayState') as object));
  const { url } = await startReplayPair(t, await listen(t, router), await listen(t, target));
  assert.deepEqual(JSON.parse((await send(url(), { host: ROUTER_HOST, path: '/a/b' })).body), { path: '/a/b' });
  assert.equal((await send(url(), { host: TARGET_DIRECT_HOST })).status, 401);
});

test('Hono: a replayResponse with a cache part is followed and cached, like the header form', async (t) => {
  let routerHits = 0;
  const router = new Hono();
  router.get('*', (c) => {
    routerHits++;
    return replayResponse({ app: 'target', cache: { pattern: hostCachePattern(c.req.header('host') ?? ''), ttlSeconds: 60 } });
  });
  const target = new Hono();
  target.get('*', (c) => c.text(String(replayCacheStatusOf(c.req.raw))));
  const { url } = await startReplayPair(t, await listen(t, router), await listen(t, target));
  assert.equal((await send(url(), { host: ROUTER_HOST })).body, 'miss');
  assert.equal((await send(url(), { host: ROUTER_HOST })).body, 'hit');
  assert.equal(routerHits, 1);
});
