import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReplayHeader } from '../../src/replay/directive.ts';
import {
  replay,
  RicochetSdkError,
  signState,
  STATE_KEY_MIN_BYTES,
  verifyReplayState,
  verifySignedReplayState,
  verifyState,
} from '../../src/sdk/index.ts';
import { timingSafeEqual } from '../../src/sdk/timing-safe-equal.ts';
import { decodeBase64url, encodeBase64url } from '../../src/sdk/base64url.ts';

const KEY = 'k'.repeat(32);
const OTHER_KEY = 'o'.repeat(32);
const T0 = Date.UTC(2026, 0, 1);

function src(state: string | null): Record<string, string> {
  return { 'fly-replay-src': `instance=3d8d413b29d089;region=iad;t=1${state === null ? '' : `;state=${state}`}` };
}

async function rejectsWith(run: () => Promise<unknown> | unknown, code: string): Promise<void> {
  await assert.rejects(async () => run(), (error: unknown) => {
    assert.ok(error instanceof RicochetSdkError, `expected a RicochetSdkError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

test('verifyReplayState accepts a replay whose state is the pre-shared key', () => {
  assert.equal(verifyReplayState(src('s3cret'), 's3cret'), true);
  assert.equal(verifyReplayState({ 'fly-replay-src': 'instance=a,region=iad,state=s3cret' }, 's3cret'), true);
});

test('verifyReplayState refuses a wrong key, a longer or shorter one, a missing state and an unreplayed request', () => {
  assert.equal(verifyReplayState(src('s3creT'), 's3cret'), false);
  assert.equal(verifyReplayState(src('s3cret-and-more'), 's3cret'), false);
  assert.equal(verifyReplayState(src('s3cre'), 's3cret'), false);
  assert.equal(verifyReplayState(src('s3crets3cret'), 's3cret'), false);
  assert.equal(verifyReplayState(src(null), 's3cret'), false);
  assert.equal(verifyReplayState({}, 's3cret'), false);
});

test('verifyReplayState accepts any of several keys, so keys can be rotated', () => {
  assert.equal(verifyReplayState(src('new'), ['old', 'new']), true);
  assert.equal(verifyReplayState(src('older'), ['old', 'new']), false);
});

test('verifyReplayState refuses to run with an empty key, which would let anything through', async () => {
  await rejectsWith(() => verifyReplayState(src(''), ''), 'INVALID_STATE_KEY');
  await rejectsWith(() => verifyReplayState(src('x'), []), 'INVALID_STATE_KEY');
});

test('timingSafeEqual compares whole strings and never matches an empty expected value', () => {
  assert.equal(timingSafeEqual('abc', 'abc'), true);
  assert.equal(timingSafeEqual('abcabc', 'abc'), false);
  assert.equal(timingSafeEqual('', ''), false);
  assert.equal(timingSafeEqual('é', 'é'), true);
});

test('signState makes a token verifyState accepts with the same key, carrying the payload and the expiry', async () => {
  const token = await signState({ user: 42, machine: '3d8d413b29d089' }, KEY, { ttlSeconds: 30, now: () => T0 });
  assert.match(token, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  const result = await verifyState<{ user: number }>(token, KEY, { now: () => T0 + 29_999 });
  assert.deepEqual(result, { ok: true, payload: { user: 42, machine: '3d8d413b29d089' }, expiresAt: new Date(T0 + 30_000) });
});

test('a signed state is a valid fly-replay state, and verifySignedReplayState reads it from fly-replay-src', async () => {
  const token = await signState('tenant-acme', KEY, { ttlSeconds: 30, now: () => T0 });
  assert.equal(parseReplayHeader(replay({ app: 'a', state: token })).state, token);
  const result = await verifySignedReplayState(src(token), KEY, { now: () => T0 });
  assert.deepEqual(result.ok && result.payload, 'tenant-acme');
  assert.deepEqual(await verifySignedReplayState({}, KEY), { ok: false, reason: 'missing' });
});

test('verifyState refuses an expired token from the moment it expires', async () => {
  const token = await signState(1, KEY, { ttlSeconds: 30, now: () => T0 });
  assert.deepEqual(await verifyState(token, KEY, { now: () => T0 + 30_000 }), { ok: false, reason: 'expired' });
});

test('verifyState refuses a token signed with another key, and accepts it once that key is listed', async () => {
  const token = await signState(1, OTHER_KEY, { ttlSeconds: 30, now: () => T0 });
  assert.deepEqual(await verifyState(token, KEY, { now: () => T0 }), { ok: false, reason: 'bad_signature' });
  assert.equal((await verifyState(token, [KEY, OTHER_KEY], { now: () => T0 })).ok, true);
});

test('verifyState refuses a token whose payload was changed, even to extend its expiry', async () => {
  const token = await signState({ user: 1 }, KEY, { ttlSeconds: 30, now: () => T0 });
  const [version, , signature] = token.split('.');
  const forged = encodeBase64url(new TextEncoder().encode(JSON.stringify({ exp: T0 + 3_600_000, data: { user: 1 } })));
  assert.deepEqual(await verifyState(`${version}.${forged}.${signature}`, KEY, { now: () => T0 }), { ok: false, reason: 'bad_signature' });
});

test('verifyState says malformed for tokens that are not signed states, and missing for none', async () => {
  for (const token of ['x', 'v1.a', 'v2.e30.e30', 'v1.!!.e30', 'v1.e30.e', 'a.b.c.d', 'v1.e30.' + 'A'.repeat(3000)]) {
    assert.deepEqual(await verifyState(token, KEY), { ok: false, reason: 'malformed' }, token);
  }
  assert.deepEqual(await verifyState(undefined, KEY), { ok: false, reason: 'missing' });
  assert.deepEqual(await verifyState('', KEY), { ok: false, reason: 'missing' });
});

test('signState refuses a short key, a bad TTL, a payload that is not JSON and a token too long for a replay', async () => {
  await rejectsWith(() => signState(1, 'x'.repeat(STATE_KEY_MIN_BYTES - 1), { ttlSeconds: 30 }), 'INVALID_STATE_KEY');
  await rejectsWith(() => signState(1, 42 as unknown as string, { ttlSeconds: 30 }), 'INVALID_STATE_KEY');
  await rejectsWith(() => signState(1, KEY, { ttlSeconds: 0 }), 'INVALID_STATE');
  await rejectsWith(() => signState(1, KEY, { ttlSeconds: Number.POSITIVE_INFINITY }), 'INVALID_STATE');
  await rejectsWith(() => signState(undefined, KEY, { ttlSeconds: 30 }), 'INVALID_STATE');
  await rejectsWith(() => signState(() => 1, KEY, { ttlSeconds: 30 }), 'INVALID_STATE');
  await rejectsWith(() => signState(10n, KEY, { ttlSeconds: 30 }), 'INVALID_STATE');
  await rejectsWith(() => signState('x'.repeat(2000), KEY, { ttlSeconds: 30 }), 'STATE_TOO_LARGE');
  await rejectsWith(() => verifyState('v1.e30.e30', 'short'), 'INVALID_STATE_KEY');
});

test('signState accepts a key given as bytes', async () => {
  const key = new Uint8Array(32).fill(7);
  const token = await signState(null, key, { ttlSeconds: 1, now: () => T0 });
  assert.deepEqual(await verifyState(token, key, { now: () => T0 }), { ok: true, payload: null, expiresAt: new Date(T0 + 1000) });
});

test('base64url round-trips any bytes and refuses what is not canonical base64url', () => {
  for (let length = 0; length < 40; length++) {
    const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 0xff);
    assert.deepEqual(decodeBase64url(encodeBase64url(bytes)), bytes);
    assert.equal(encodeBase64url(bytes), Buffer.from(bytes).toString('base64url'));
  }
  assert.equal(decodeBase64url('a'), null);
  assert.equal(decodeBase64url('ab='), null);
  assert.equal(decodeBase64url('ab+/'), null);
  assert.equal(decodeBase64url('AB'), null);
});
