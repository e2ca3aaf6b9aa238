import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { send } from '../harness/index.ts';
import {
  fastifyReplay,
  fastifyReplayJson,
  fastifyRequireReplayState,
  fastifyRequireSignedState,
  fastifyRicochet,
  replaySrcOf,
  signState,
} from '../../src/sdk/index.ts';
import { addressOf, ROUTER_HOST, startReplayPair, TARGET_DIRECT_HOST } from './replay-pair.ts';

const PRESHARED = 'target-app-preshared-key';
const SIGNING_KEY = 'signing-key-of-at-least-16-bytes';

async function listen(t: TestContext, app: FastifyInstance): Promise<string> {
  t.after(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  return addressOf(app.server);
}

test('Fastify: fastifyReplay replays and the fastifyRequireReplayState preHandler admits it', async (t) => {
  const router = Fastify();
  router.get('/*', (_request, reply) => fastifyReplay(reply, { app: 'target', state: PRESHARED }));
  const target = Fastify();
  target.addHook('preHandler', fastifyRequireReplayState(PRESHARED));
  target.get('/*', async (request) => `replayed by ${replaySrcOf(request)?.instance?.length}-char machine`);
  const { url } = await startReplayPair(t, await listen(t, router), await listen(t, target));
  const res = await send(url(), { host: ROUTER_HOST });
  assert.equal(res.status, 200);
  assert.equal(res.body, 'replayed by 14-char machine');
  const direct = await send(url(), { host: TARGET_DIRECT_HOST });
  assert.equal(direct.status, 401);
});

test('Fastify: fastifyRequireSignedState sets request.replayState, declared by the fastifyRicochet plugin', async (t) => {
  const router = Fastify();
  router.get('/*', async (request, reply) => {
    const state = await signState({ path: request.url }, SIGNING_KEY, { ttlSeconds: 30 });
    return fastifyReplay(reply, { app: 'target', state });
  });
  const target = Fastify();
  await target.register(fastifyRicochet);
  target.get('/*', { preHandler: fastifyRequireSignedState(SIGNING_KEY) }, async (request) => {
    return (request as unknown as { replayState: unknown }).replayState;
  });
  target.get('/open', async (request) => ({ replayState: (request as unknown as { replayState: unknown }).replayState }));
  const { url } = await startReplayPair(t, await listen(t, router), await listen(t, target));
  assert.deepEqual(JSON.parse((await send(url(), { host: ROUTER_HOST, path: '/docs/1' })).body), { path: '/docs/1' });
  assert.equal((await send(url(), { host: TARGET_DIRECT_HOST, path: '/docs/1' })).status, 401);
  assert.deepEqual(JSON.parse((await send(url(), { host: TARGET_DIRECT_HOST, path: '/open' })).body), { replayState: null });
});

test('Fastify: fastifyRequireSignedState works without the plugin too', async (t) => {
  const router = Fastify();
  router.get('/*', async (_request, reply) =>
    fastifyReplay(reply, { app: 'target', state: await signState('ok', SIGNING_KEY, { ttlSeconds: 30 }) }),
  );
  const target = Fastify();
  target.get('/*', { preHandler: fastifyRequireSignedState(SIGNING_KEY) }, async (request) => {
    return String((request as unknown as { replayState: unknown }).replayState);
  });
  const { url } = await startReplayPair(t, await listen(t, router), await listen(t, target));
  assert.equal((await send(url(), { host: ROUTER_HOST })).body, 'ok');
});

test('Fastify: fastifyReplayJson replays with a transform', async (t) => {
  const router = Fastify();
  router.get('/*', (_request, reply) => fastifyReplayJson(reply, { app: 'target', transform: { path: '/moved' } }));
  const target = Fastify();
  target.get('/*', async (request) => request.url);
  const { url } = await startReplayPair(t, await listen(t, router), await listen(t, target));
  assert.equal((await send(url(), { host: ROUTER_HOST, path: '/old?x=1' })).body, '/moved?x=1');
});
