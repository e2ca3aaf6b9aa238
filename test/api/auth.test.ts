import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenMatches } from '../../src/api/auth.ts';
import { startApiNode } from '../harness/api.ts';

const TOKEN = 's3cret-token';

test('with a token configured, a request without Authorization answers 401 unauthorized', async (t) => {
  const { api } = await startApiNode(t, '', { token: TOKEN });
  const res = await api.get('/v1/apps', { token: null });
  assert.equal(res.status, 401);
  assert.equal(res.body.code, 'unauthorized');
  assert.match(String(res.headers['www-authenticate']), /^Bearer/);
});

test('a wrong token, another scheme, or an empty bearer answers 401; the right token passes', async (t) => {
  const { api } = await startApiNode(t, '', { token: TOKEN });
  for (const authorization of [`Bearer ${TOKEN}x`, `Basic ${TOKEN}`, 'Bearer ', `Bearer ${TOKEN.slice(0, -1)}`]) {
    const res = await api.get('/v1/apps', { token: null, headers: { authorization } });
    assert.equal(res.status, 401, authorization);
  }
  assert.equal((await api.get('/v1/apps')).status, 200);
  assert.equal((await api.get('/v1/apps', { token: null, headers: { authorization: `bearer ${TOKEN}` } })).status, 200);
});

test('without the token, unknown paths and writes answer 401, not 404 or 422', async (t) => {
  const { api, node } = await startApiNode(t, '', { token: TOKEN });
  assert.equal((await api.get('/v1/nothing-here', { token: null })).status, 401);
  assert.equal((await api.post('/v1/apps', { app_name: 'x' }, { token: null })).status, 401);
  assert.equal(node.catalog.app('x'), undefined);
});

test('the OpenAPI document is served without a token', async (t) => {
  const { api } = await startApiNode(t, '', { token: TOKEN });
  const res = await api.get('/v1/openapi.json', { token: null });
  assert.equal(res.status, 200);
  assert.equal(res.body.openapi, '3.1.0');
});

test('with no token configured every request passes', async (t) => {
  const { api } = await startApiNode(t);
  assert.equal((await api.get('/v1/apps', { token: null })).status, 200);
});

test('tokenMatches compares whole tokens, whatever their lengths', () => {
  assert.equal(tokenMatches('abc', 'abc'), true);
  assert.equal(tokenMatches('abc', 'abcd'), false);
  assert.equal(tokenMatches('', 'abc'), false);
});

test('the API binds loopback by default', async () => {
  const { loadConfig } = await import('../../src/config/load.ts');
  assert.equal(loadConfig(null, { env: {} }).config.listen.api, '127.0.0.1:4280');
});
