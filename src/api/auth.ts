/**
 * Bearer-token auth for the Machines API (spec §14 "Auth"): `Authorization: Bearer <token>`.
 * The token is compared in constant time: both sides are hashed to 32 bytes first, so neither
 * the comparison nor an early length mismatch says how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './api-error.ts';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** tokenMatches says whether `given` equals `expected`, in time that depends on neither. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * checkBearer throws `unauthorized` (401, with `WWW-Authenticate: Bearer`) unless the
 * Authorization header carries `token`; with no token configured every request passes.
 */
export function checkBearer(authorization: string | undefined, token: string | null): void {
  if (token === null) return;
  const given = authorization === undefined ? null : (BEARER.exec(authorization)?.[1] ?? null);
  // Hash something even without a header, so a missing header costs what a wrong one does.
  const ok = tokenMatches(given ?? '', token) && given !== null;
  if (!ok) {
    throw new ApiError('unauthorized', 'Authorization: Bearer <token> is missing or wrong', {
      headers: { 'www-authenticate': 'Bearer realm="ricochet"' },
    });
  }
}
