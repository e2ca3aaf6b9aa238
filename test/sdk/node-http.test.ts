import assert from 'node:assert/strict';
import { test } from 'node:test';
import { send, startBackend } from '../harness/index.ts';
import {
  hostCachePattern,
  nodeReplay,
  nodeReplayJson,
  nodeRequireReplayState,
  nodeRequireSignedState,
  replaySrcOf,
  replayCacheStatusOf,
  RicochetSdkError,
  signState,
  UNAUTHORIZED_BODY,
} from '../../src/sdk/index.ts';
import { ROUTER_HOST, startReplayPair, TARGET_DIRECT_HOST } from './replay-pair.ts';

const PRESHARED = 'target-app-preshared-key';
const SIGNING_KEY = 'signing-key-of-at-least-16-bytes';

test('nodeReplay sends a replay the proxy follows, and nodeRequireReplayState lets it in with the pre-shared key', async (t) => {
  const router = await startBackend(t, (_req, res) => nodeReplay(res, { app: 'target', state: PRESHARED }));
  const requireState = nodeRequireReplayState(PRESHARED);
  const target = await startBackend(t, (req, res) => {
    if (!requireState(req, res)) return;
    res.end(`hello from target, replayed by ${replaySrcOf(req)?.instance}`);
  });
  const { url } = await startReplayPair(t, router.address, target.address);
  const res = await send(url(), { host: ROUTER_HOST });
  assert.equal(res.status, 200);
  assert.match(res.body, /^hello from target, replayed by [0-9a-f]{14}$/);
});

test('nodeRequireReplayState answers 401 to a request that reaches the target without a replay', async (t) => {
  const router = await startBackend(t, (_req, res) => res.end('router'));
  const requireState = nodeRequireReplayState(PRESHARED);
  const target = await startBackend(t, (req, res) => {
    if (requireState(req, res)) res.end('secret');
  });
  const { url } = await startReplayPair(t, router.address, target.address);
  const direct = await send(url(), { host: TARGET_DIRECT_HOST, headers: { 'fly-replay-src': `instance=x;region=iad;t=1;state=${PRESHARED}` } });
  assert.equal(direct.status, 401, 'the proxy strips a fly-replay-src the client sends');
  assert.equal(direct.body, UNAUTHORIZED_BODY);
});

test('nodeRequireSignedState hands the target the payload the router signed', async (t) => {
  const router = await startBackend(t, (req, res) => {
    signState({ tenant: 'acme', path: req.url }, SIGNING_KEY, { ttlSeconds: 30 }).then((state) => nodeReplay(res, { app: 'target', state }));
  });
  const requireSigned = nodeRequireSignedState<{ tenant: string; path: string }>(SIGNING_KEY);
  const target = await startBackend(t, (req, res) => {
    requireSigned(req, res).then((result) => {
      if (result.ok) res.end(`${result.payload.tenant} ${result.payload.path}`);
    });
  });
  const { url } = await startReplayPair(t, router.address, target.address);
  assert.equal((await send(url(), { host: ROUTER_HOST, path: '/orders' })).body, 'acme /orders');
  const direct = await send(url(), { host: TARGET_DIRECT_HOST });
  assert.equal(direct.status, 401);
});

test('nodeReplay with cache makes the next request skip the router (spec §5.1)', async (t) => {
  let routerHits = 0;
  const router = await startBackend(t, (req, res) => {
    routerHits++;
    nodeReplay(res, { app: 'target' }, { cache: { pattern: hostCachePattern(String(req.headers.host)), ttlSeconds: 60 } });
  });
  const target = await startBackend(t, (req, res) => res.end(String(replayCacheStatusOf(req))));
  const { url } = await startReplayPair(t, router.address, target.address);
  assert.equal((await send(url(), { host: ROUTER_HOST })).body, 'miss');
  assert.equal((await send(url(), { host: ROUTER_HOST, path: '/deeper' })).body, 'hit');
  assert.equal(routerHits, 1);
});

test('nodeReplayJson sends a JSON replay whose transform the proxy applies', async (t) => {
  const router = await startBackend(t, (_req, res) =>
    nodeReplayJson(res, { app: 'target', transform: { path: '/rewritten', setHeaders: { 'x-tenant': 'acme' }, deleteHeaders: ['x-drop'] } }),
  );
  const target = await startBackend(t, (req, res) => res.end(`${req.url} ${req.headers['x-tenant']} ${req.headers['x-drop'] ?? '-'}`));
  const { url } = await startReplayPair(t, router.address, target.address);
  const res = await send(url(), { host: ROUTER_HOST, path: '/original?q=1', headers: { 'x-drop': 'yes' } });
  assert.equal(res.body, '/rewritten?q=1 acme -');
});

test('the node guards refuse an empty or short key when they are made, not at the first request', () => {
  assert.throws(() => nodeRequireReplayState(''), (e: unknown) => e instanceof RicochetSdkError && e.code === 'INVALID_STATE_KEY');
  assert.throws(() => nodeRequireSignedState('short'), (e: unknown) => e instanceof RicochetSdkError && e.code === 'INVALID_STATE_KEY');
});
