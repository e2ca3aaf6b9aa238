/**
 * newRequestId makes a `Fly-Request-Id`: a 26-character ULID, `-`, and the node's region
 * (spec §7.1). Randomness comes from a pooled buffer so an id costs no syscall.
 */
import { randomFillSync } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const POOL_BYTES = 4096;
const RANDOM_CHARS = 16;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/** ulid returns a ULID for time `nowMs` (48-bit ms timestamp + 80 random bits, Crockford base32). */
let timeMs = -1;
let timeText = '';

export function ulid(nowMs: number = Date.now()): string {
  // The 10 time characters change once a millisecond: encode them once.
  if (nowMs !== timeMs) {
    let text = '';
    let t = nowMs;
    for (let i = 0; i < 10; i++) {
      text = CROCKFORD[t % 32] + text;
      t = Math.floor(t / 32);
    }
    timeMs = nowMs;
    timeText = text;
  }
  const time = timeText;
  if (poolOffset + RANDOM_CHARS > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  let random = '';
  for (let i = 0; i < RANDOM_CHARS; i++) random += CROCKFORD[pool[poolOffset++] & 31];
  return time + random;
}

export function newRequestId(region: string, nowMs?: number): string {
  return `${ulid(nowMs)}-${region}`;
}
