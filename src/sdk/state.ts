/**
 * Trusting a replay's `state` (spec §6.1).
 *
 * - verifyReplayState is the pattern of Fly's user-machines blueprint: the router puts a key it
 *   shares with the target app in `state`, and the target compares `fly-replay-src`'s `state`
 *   with it (timing-safe). The key itself travels, so it only proves "my router sent this".
 * - signState / verifyState go further: the state is a payload signed with HMAC-SHA256 and an
 *   expiry, so the target learns *what* the router decided (a user id, a tenant) and nobody can
 *   forge it, alter it or reuse it once it expires. Web Crypto only, so it runs on any runtime.
 *
 * Token format (docs/sdk.md): `v1.<payload>.<signature>`, both base64url without padding; the
 * payload is the JSON `{"exp":<ms since epoch>,"data":<payload>}`; the signature is
 * HMAC-SHA256(key, "v1.<payload>"). Every character is one `fly-replay` carries unquoted.
 */
import { REPLAY_STATE_MAX_CHARS } from '../replay/directive-fields.ts';
import { decodeBase64url, encodeBase64url } from './base64url.ts';
import { headerOf, type HeaderSource } from './header-of.ts';
import { parseReplaySrc } from './replay-src.ts';
import { RicochetSdkError } from './sdk-error.ts';
import { timingSafeEqual } from './timing-safe-equal.ts';

export { REPLAY_STATE_MAX_CHARS } from '../replay/directive-fields.ts';

/** StateKey is an HMAC key: a string (its UTF-8 bytes) or raw bytes. */
export type StateKey = string | Uint8Array;

/** STATE_KEY_MIN_BYTES is the shortest signing key accepted: 128 bits. */
export const STATE_KEY_MIN_BYTES = 16;
/** STATE_TTL_MAX_SECONDS caps a signed state's lifetime at 30 days; states are meant to be short-lived. */
export const STATE_TTL_MAX_SECONDS = 30 * 24 * 60 * 60;
/** STATE_TOKEN_VERSION prefixes every signed state, so the format can change later. */
export const STATE_TOKEN_VERSION = 'v1';

export interface SignStateOptions {
  /** How long the state is valid, in seconds (above 0, at most STATE_TTL_MAX_SECONDS). */
  ttlSeconds: number;
  /** Clock in milliseconds since the epoch; default Date.now. */
  now?: () => number;
}

export interface VerifyStateOptions {
  /** Clock in milliseconds since the epoch; default Date.now. */
  now?: () => number;
}

/** VerifyStateResult says whether a signed state holds, and if so what it carries. */
export type VerifyStateResult<T = unknown> =
  | { ok: true; payload: T; expiresAt: Date }
  | { ok: false; reason: 'missing' | 'malformed' | 'bad_signature' | 'expired' };

// Web Crypto's types, read off the global so that no module is imported for them.
type Subtle = (typeof globalThis.crypto)['subtle'];
type HmacKey = Awaited<ReturnType<Subtle['importKey']>>;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function subtle(): Subtle {
  const crypto = (globalThis as { crypto?: { subtle?: Subtle } }).crypto;
  if (crypto?.subtle === undefined) {
    throw new RicochetSdkError('NO_WEB_CRYPTO', 'Cannot sign or verify a state: this runtime has no globalThis.crypto.subtle');
  }
  return crypto.subtle;
}

function keyBytes(key: unknown, minBytes: number): Uint8Array {
  const bytes = typeof key === 'string' ? encoder.encode(key) : key instanceof Uint8Array ? key : null;
  if (bytes === null) throw new RicochetSdkError('INVALID_STATE_KEY', 'Cannot use the state key: it must be a string or a Uint8Array');
  if (bytes.length < minBytes) {
    throw new RicochetSdkError('INVALID_STATE_KEY', `Cannot use the state key: it is ${bytes.length} bytes, under the minimum of ${minBytes}`);
  }
  return bytes;
}

function importHmacKey(key: StateKey): Promise<HmacKey> {
  const raw = keyBytes(key, STATE_KEY_MIN_BYTES);
  return subtle().importKey('raw', raw as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/**
 * signState returns a token for `payload` (any JSON value) that verifyState accepts with the same
 * key until `ttlSeconds` have passed. Use it as a replay's `state`:
 * `replay({ app, state: await signState({ user: 42 }, key, { ttlSeconds: 30 }) })`.
 * Throws RicochetSdkError: INVALID_STATE_KEY (not a string or bytes, or under 16 bytes),
 * INVALID_STATE (payload not JSON, TTL out of range), STATE_TOO_LARGE (token over 2048 characters,
 * the longest `state` the proxy echoes).
 */
export async function signState(payload: unknown, key: StateKey, options: SignStateOptions): Promise<string> {
  const ttlSeconds = options?.ttlSeconds;
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > STATE_TTL_MAX_SECONDS) {
    throw new RicochetSdkError('INVALID_STATE', `Cannot sign the state: ttlSeconds must be above 0 and at most ${STATE_TTL_MAX_SECONDS}`, {
      field: 'ttlSeconds',
    });
  }
  let data: string | undefined;
  try {
    data = JSON.stringify(payload);
  } catch (error) {
    throw new RicochetSdkError('INVALID_STATE', 'Cannot sign the state: the payload is not serialisable as JSON', { field: 'payload', cause: error });
  }
  if (data === undefined) throw new RicochetSdkError('INVALID_STATE', 'Cannot sign the state: the payload is not a JSON value', { field: 'payload' });
  const cryptoKey = await importHmacKey(key);
  const expiresAt = Math.round((options.now ?? Date.now)() + ttlSeconds * 1000);
  const json = `{"exp":${expiresAt},"data":${data}}`;
  const signed = `${STATE_TOKEN_VERSION}.${encodeBase64url(encoder.encode(json))}`;
  const signature = new Uint8Array(await subtle().sign('HMAC', cryptoKey, encoder.encode(signed)));
  const token = `${signed}.${encodeBase64url(signature)}`;
  if (token.length > REPLAY_STATE_MAX_CHARS) {
    throw new RicochetSdkError('STATE_TOO_LARGE', `Cannot sign the state: the token is ${token.length} characters, over the ${REPLAY_STATE_MAX_CHARS} a replay state may hold`);
  }
  return token;
}

function readPayload(bytes: Uint8Array): { exp: number; data: unknown } | null {
  try {
    const parsed: unknown = JSON.parse(decoder.decode(bytes));
    if (typeof parsed !== 'object' || parsed === null || !('exp' in parsed) || !('data' in parsed)) return null;
    const { exp, data } = parsed as { exp: unknown; data: unknown };
    return typeof exp === 'number' && Number.isFinite(exp) ? { exp, data } : null;
  } catch {
    return null;
  }
}

/**
 * verifyState checks a token from signState against `key` (or any of several keys, to rotate
 * them) and the clock. The signature is checked (by Web Crypto, in constant time) before the
 * payload is parsed. Never throws for a bad token: the result says why it failed. Throws only
 * for a bad key or a runtime without Web Crypto.
 */
export async function verifyState<T = unknown>(
  token: string | null | undefined,
  key: StateKey | readonly StateKey[],
  options: VerifyStateOptions = {},
): Promise<VerifyStateResult<T>> {
  checkSigningKeys(key);
  const keys = await Promise.all((Array.isArray(key) ? key : [key]).map((k: StateKey) => importHmacKey(k)));
  if (token === null || token === undefined || token === '') return { ok: false, reason: 'missing' };
  if (typeof token !== 'string' || token.length > REPLAY_STATE_MAX_CHARS) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== STATE_TOKEN_VERSION) return { ok: false, reason: 'malformed' };
  const payloadBytes = decodeBase64url(parts[1]);
  const signature = decodeBase64url(parts[2]);
  if (payloadBytes === null || signature === null) return { ok: false, reason: 'malformed' };
  const signed = encoder.encode(`${parts[0]}.${parts[1]}`);
  let valid = false;
  for (const cryptoKey of keys) {
    if (await subtle().verify('HMAC', cryptoKey, signature as Uint8Array<ArrayBuffer>, signed)) valid = true;
  }
  if (!valid) return { ok: false, reason: 'bad_signature' };
  const payload = readPayload(payloadBytes);
  if (payload === null) return { ok: false, reason: 'malformed' };
  if ((options.now ?? Date.now)() >= payload.exp) return { ok: false, reason: 'expired' };
  return { ok: true, payload: payload.data as T, expiresAt: new Date(payload.exp) };
}

/** checkPresharedKeys returns the keys verifyReplayState compares with, or throws INVALID_STATE_KEY. */
export function checkPresharedKeys(key: string | readonly string[]): readonly string[] {
  const keys: readonly unknown[] = Array.isArray(key) ? key : [key];
  if (keys.length === 0) throw new RicochetSdkError('INVALID_STATE_KEY', 'Cannot check the replay state: no key given');
  for (const k of keys) {
    if (typeof k !== 'string' || k === '') throw new RicochetSdkError('INVALID_STATE_KEY', 'Cannot check the replay state: a key is empty or not a string');
  }
  return keys as readonly string[];
}

/** checkSigningKeys throws INVALID_STATE_KEY unless every key can sign and verify states. */
export function checkSigningKeys(key: StateKey | readonly StateKey[]): void {
  const keys: readonly unknown[] = Array.isArray(key) ? key : [key];
  if (keys.length === 0) throw new RicochetSdkError('INVALID_STATE_KEY', 'Cannot verify the state: no key given');
  for (const k of keys) keyBytes(k, STATE_KEY_MIN_BYTES);
}

/**
 * verifySignedReplayState is verifyState on the `state` of a request's `fly-replay-src`: a
 * request that was not replayed, or whose replay had no state, is `missing`.
 */
export function verifySignedReplayState<T = unknown>(
  request: HeaderSource,
  key: StateKey | readonly StateKey[],
  options: VerifyStateOptions = {},
): Promise<VerifyStateResult<T>> {
  return verifyState<T>(parseReplaySrc(headerOf(request, 'fly-replay-src'))?.state ?? null, key, options);
}

/**
 * verifyReplayState tells whether a request was replayed with `state` equal to `key` (or to one
 * of `keys`, to rotate them): the pre-shared key pattern of Fly's user-machines blueprint. The
 * proxy strips any `fly-replay-src` a client sends, so only a replay can carry it. Compared in
 * constant time. Throws RicochetSdkError (`INVALID_STATE_KEY`) for an empty key.
 */
export function verifyReplayState(request: HeaderSource, key: string | readonly string[]): boolean {
  const keys = checkPresharedKeys(key);
  const state = parseReplaySrc(headerOf(request, 'fly-replay-src'))?.state;
  if (state === undefined || state === null) return false;
  let match = false;
  // Compare with every key, without stopping early, so timing does not tell which key matched.
  for (const k of keys) match = timingSafeEqual(state, k) || match;
  return match;
}
