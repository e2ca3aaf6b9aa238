import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { API_BODY_LIMIT_BYTES } from '../../src/api/read-json-body.ts';
import { createApp, startApiNode } from '../harness/api.ts';
import { rawRequest } from '../harness/index.ts';

test('a body that is not JSON answers 400 invalid_json', async (t) => {
  const { api } = await startApiNode(t);
  const res = await api.request('POST', '/v1/apps', { rawBody: '{"app_name": ', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 400);
  assert.equal(res.body.code, 'invalid_json');
});

test('a body that is not application/json answers 415', async (t) => {
  const { api } = await startApiNode(t);
  const res = await api.request('POST', '/v1/apps', { rawBody: 'app_name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(res.status, 415);
  assert.equal(res.body.code, 'unsupported_media_type');
});

test('a body over the limit answers 413 body_too_large, declared or streamed', async (t) => {
  const { api, node } = await startApiNode(t);
  const big = Buffer.alloc(API_BODY_LIMIT_BYTES + 1, 0x20);
  const declared = await api.request('POST', '/v1/apps', { rawBody: big, headers: { 'content-type': 'application/json' } });
  assert.equal(declared.status, 413);
  assert.equal(declared.body.code, 'body_too_large');
  const port = Number(new URL(node.apiUrl).port);
  const head = 'POST /v1/apps HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';
  const chunk = `${big.length.toString(16)}\r\n${big.toString('latin1')}\r\n0\r\n\r\n`;
  const answer = await rawRequest(port, head + chunk, /\r\n\r\n\{.*\}$/s);
  assert.match(answer, /^HTTP\/1\.1 413 /);
});

test('bodies of the wrong type answer 422 and name what was expected', async (t) => {
  const { api } = await startApiNode(t);
  for (const body of [[], 42, 'text', null, { app_name: 7 }]) {
    const res = await api.post('/v1/apps', body);
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.equal(res.body.code, 'validation_failed');
    assert.ok(Array.isArray(res.body.details) && res.body.details.length > 0);
  }
});

test('a malformed percent-encoding in a path answers 400', async (t) => {
  const { node } = await startApiNode(t);
  const port = Number(new URL(node.apiUrl).port);
  const answer = await rawRequest(port, 'GET /v1/apps/%E0%A4%A HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 400 /);
});

test('any JSON sent to the machine and app routes gets a 4xx or 2xx answer, never a 5xx', async (t) => {
  const { api } = await startApiNode(t);
  await createApp(api, 'fuzz');
  await fc.assert(
    fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom('/v1/apps', '/v1/apps/fuzz/machines', '/v1/apps/fuzz/machines/00000000000000/stop'), async (body, path) => {
      const res = await api.post(path, { config: body, ...(typeof body === 'object' && body !== null ? body : {}) });
      assert.ok(res.status < 500, `${path} ${JSON.stringify(body)} -> ${res.status} ${JSON.stringify(res.body)}`);
    }),
    { numRuns: 150 },
  );
  assert.equal((await api.get('/v1/apps/fuzz')).status, 200);
});
