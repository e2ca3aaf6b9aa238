import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { test, type TestContext } from 'node:test';
import express, { type Express } from 'express';
import { send } from '../harness/index.ts';
import {
  expressReplay,
  expressReplayJson,
  expressRequireReplayState,
  expressRequireSignedState,
  hostCachePattern,
  replayCacheStatusOf,
  signState,
  type ParsedReplaySrc,
} from '../../src/sdk/index.ts';
import { addressOf, ROUTER_HOST, startReplayPair, TARGET_DIRECT_HOST } from './replay-pair.ts';

const PRESHARED = 'target-app-preshared-key';
const SIGNING_KEY = 'signing-key-of-at-least-16-bytes';

async function listen(t: TestContext, app: Express): Promise<string> {
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return addressOf(server);
}

test('Express: expressReplay replays and expressRequireReplayState admits it, with res.locals.replaySrc', async (t) => {
  const router = express();
  router.get('/{*path}', (_req, res) => expressReplay(res, { app: 'target', state: PRESHARED }));
  const target = express();
  target.use(expressRequireReplayState(PRESHARED));
  target.get('/{*path}', (req, res) => {
    const src = res.locals.replaySrc as ParsedReplaySrc;
    res.send(`${req.path} replayed from ${src.region}`);
  });
  const { url } = await startReplayPair(t, await listen(t, router), await listen(t, target));
  const res = await send(url(), { host: ROUTER_HOST, path: '/page' });
  assert.equal(res.status, 200);
  assert.equal(res.body, '/page replayed from iad');
  assert.equal((await send(url(), { host: TARGET_DIRECT_HOST })).status, 401);
});

test('Express: expressRequireSignedState puts the signed payload in res.locals.replayState', async (t) => {
  const router = express();
  router.get('/{*path}', async (req, res) => {
    expressReplay(res, { app: 'target', state: await signState({ user: req.query.user }, SIGNING_KEY, { ttlSeconds: 30 }) });
  });
  const target = express();
  target.get('/{*path}', expressRequireSignedState(SIGNING_KEY), (_req, res) => {
    res.json(res.locals.replayState);
  });
  const { url } = await startReplayPair(t, await listen(t, router), await listen(t, target));
  const res = await send(url(), { host: ROUTER_HOST, path: '/?user=42' });
  assert.deepEqual(JSON.parse(res.body), { user: '42' });
  assert.equal((await send(url(), { host: TARGET_DIRECT_HOST })).status, 401);
});

test('Express: a cached replay skips the router the second time, and a JSON replay transforms the request', async (t) => {
  let routerHits = 0;
  const router = express();
  router.get('/cached/{*path}', (req, res) => {
    routerHits++;
    expressReplay(res, { app: 'target' }, { cache: { pattern: hostCachePattern(req.hostname, '/cached'), ttlSeconds: 60 } });
  });
  router.get('/json', (_req, res) => expressReplayJson(res, { app: 'target', transform: { setHeaders: { 'x-from': 'json' } } }));
  const target = express();
  target.get('/{*path}', (req, res) => {
    res.send(`${replayCacheStatusOf(req)} ${req.get('x-from') ?? '-'}`);
  });
  const { url } = await startReplayPair(t, await listen(t, router), await listen(t, target));
  assert.equal((await send(url(), { host: ROUTER_HOST, path: '/cached/a' })).body, 'miss -');
  assert.equal((await send(url(), { host: ROUTER_HOST, path: '/cached/b' })).body, 'hit -');
  assert.equal(routerHits, 1);
  assert.equal((await send(url(), { host: ROUTER_HOST, path: '/json' })).body, 'miss json');
});
