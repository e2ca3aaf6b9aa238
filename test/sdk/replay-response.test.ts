import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseReplayJson,
  REPLAY_JSON_CONTENT_TYPE as PROXY_CONTENT_TYPE,
  REPLAY_JSON_MAX_BYTES as PROXY_JSON_MAX_BYTES,
  REPLAY_TRANSFORM_MAX_HEADERS as PROXY_TRANSFORM_MAX_HEADERS,
} from '../../src/replay/directive.ts';
import {
  REPLAY_JSON_CONTENT_TYPE,
  REPLAY_JSON_MAX_BYTES,
  REPLAY_TRANSFORM_MAX_HEADERS,
  replayJson,
  replayResponse,
  RicochetSdkError,
} from '../../src/sdk/index.ts';

function rejects(run: () => unknown, code: string, field: string | null): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof RicochetSdkError, `expected a RicochetSdkError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.field, field);
    return true;
  });
}

test('the SDK repeats the proxy limits it cannot import, with the same values', () => {
  assert.equal(REPLAY_JSON_CONTENT_TYPE, PROXY_CONTENT_TYPE);
  assert.equal(REPLAY_JSON_MAX_BYTES, PROXY_JSON_MAX_BYTES);
  assert.equal(REPLAY_TRANSFORM_MAX_HEADERS, PROXY_TRANSFORM_MAX_HEADERS);
});

test('replayJson writes the snake_case body of spec §2, and the proxy reads it back', () => {
  const body = replayJson({
    app: 'target-app',
    region: ['iad', 'us'],
    preferInstance: '3d8d413b29d089',
    state: 'k1',
    elsewhere: true,
    timeout: 1500,
    fallback: 'force_self',
    transform: { path: '/new/path?param=value', deleteHeaders: ['X-Unwanted', 'cookie'], setHeaders: { Authorization: 'Bearer t' } },
  });
  assert.deepEqual(body, {
    app: 'target-app',
    region: 'iad,us',
    prefer_instance: '3d8d413b29d089',
    state: 'k1',
    elsewhere: true,
    timeout: '1500ms',
    fallback: 'force_self',
    transform: {
      path: '/new/path?param=value',
      delete_headers: ['x-unwanted', 'cookie'],
      set_headers: [{ name: 'authorization', value: 'Bearer t' }],
    },
  });
  const directive = parseReplayJson(JSON.stringify(body));
  assert.equal(directive.app, 'target-app');
  assert.deepEqual(directive.regions, ['iad', 'us']);
  assert.equal(directive.timeoutMs, 1500);
  assert.equal(directive.fallback, 'force_self');
});

test('replayJson refuses a state with ";" in the JSON form too, since it is echoed into fly-replay-src', () => {
  rejects(() => replayJson({ state: 'a;b' }), 'INVALID_REPLAY_OPTION', 'state');
});

test('replayJson round-trips through the proxy parser, transform and cache included', () => {
  const directive = parseReplayJson(
    JSON.stringify(replayJson({ app: 'a', transform: { setHeaders: [{ name: 'x-tenant', value: 'acme' }], path: '/x' } })),
  );
  assert.deepEqual(directive.transform, { path: '/x', deleteHeaders: [], setHeaders: [{ name: 'x-tenant', value: 'acme' }] });
  const cached = parseReplayJson(JSON.stringify(replayJson({ app: 'a', cache: { pattern: '/x/*', ttlSeconds: 30, allowBypass: true } })));
  assert.deepEqual(cached.cache, { prefix: '/x/*', ttlSeconds: 30, allowBypass: true, invalidate: false });
  const invalidate = parseReplayJson(JSON.stringify(replayJson({ app: 'router', cache: { invalidate: true } })));
  assert.equal(invalidate.cache?.invalidate, true);
});

test('replayJson of no fields is {}, a replay within the same app (spec §1.3.3)', () => {
  assert.deepEqual(replayJson({}), {});
  assert.deepEqual(replayJson({ transform: {} }), {});
});

test('replayJson refuses transforms the proxy refuses', () => {
  rejects(() => replayJson({ transform: { path: 'relative' } }), 'INVALID_REPLAY_OPTION', 'transform.path');
  rejects(() => replayJson({ transform: { path: '//evil/x' } }), 'INVALID_REPLAY_OPTION', 'transform.path');
  rejects(() => replayJson({ transform: { setHeaders: { 'fly-replay-src': 'forged' } } }), 'INVALID_REPLAY_OPTION', 'transform.setHeaders[0].name');
  rejects(() => replayJson({ transform: { setHeaders: { 'content-length': '1' } } }), 'INVALID_REPLAY_OPTION', 'transform.setHeaders[0].name');
  rejects(
    () => replayJson({ transform: { setHeaders: [{ name: 'X-A', value: '1' }, { name: 'x-a', value: '2' }] } }),
    'INVALID_REPLAY_OPTION',
    'transform.setHeaders[1].name',
  );
  rejects(() => replayJson({ transform: { setHeaders: { 'x-a': 'line\nbreak' } } }), 'INVALID_REPLAY_OPTION', 'transform.setHeaders[0].value');
  rejects(() => replayJson({ transform: { deleteHeaders: ['bad name'] } }), 'INVALID_REPLAY_OPTION', 'transform.deleteHeaders[0]');
  rejects(() => replayJson({ transform: { deleteHeaders: Array(65).fill('x') } }), 'INVALID_REPLAY_OPTION', 'transform.deleteHeaders');
  rejects(() => replayJson({ transform: { rename: 'x' } as never }), 'INVALID_REPLAY_OPTION', 'transform.rename');
});

test('replayJson refuses to cache a replay with a transform or state (spec §5.4), and a half-written invalidation', () => {
  const cache = { pattern: '/x', ttlSeconds: 60 };
  rejects(() => replayJson({ app: 'a', transform: { path: '/y' }, cache }), 'INVALID_REPLAY_CACHE', 'transform');
  rejects(() => replayJson({ app: 'a', state: 's', cache }), 'INVALID_REPLAY_CACHE', 'state');
  rejects(() => replayJson({ app: 'a', cache: { invalidate: false } as never }), 'INVALID_REPLAY_CACHE', 'cache');
});

test('replayResponse is a 409 fetch Response with the replay content type and the JSON body', async () => {
  const res = replayResponse({ app: 'a', region: 'sjc' }, { headers: { 'x-extra': '1', 'content-type': 'text/html' } });
  assert.equal(res.status, 409);
  assert.equal(res.headers.get('content-type'), REPLAY_JSON_CONTENT_TYPE);
  assert.equal(res.headers.get('x-extra'), '1');
  assert.deepEqual(await res.json(), { app: 'a', region: 'sjc' });
  assert.equal(replayResponse({ app: 'a' }, { status: 200 }).status, 200);
});

test('replayResponse refuses a body over the proxy limit', () => {
  const setHeaders = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`x-h${i}`, 'v'.repeat(2000)]));
  rejects(() => replayResponse({ transform: { setHeaders } }), 'INVALID_REPLAY_OPTION', null);
});
