/**
 * timingSafeEqual compares a received string with an expected secret in time that depends only
 * on the received string's length: every byte is compared, and a length mismatch is folded into
 * the result rather than returned early, so a caller can't learn the secret byte by byte from
 * response times. Written without node:crypto so it runs on any runtime.
 */
const encoder = new TextEncoder();

export function timingSafeEqual(received: string, expected: string): boolean {
  const a = encoder.encode(received);
  const b = encoder.encode(expected);
  if (b.length === 0) return false;
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i % b.length];
  return difference === 0;
}
