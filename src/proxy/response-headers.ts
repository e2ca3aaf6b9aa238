/**
 * responseHeaders turns a machine's response headers into the client's: hop-by-hop headers
 * dropped (RFC 9110 §7.6.1), `Fly-Request-Id` and `Via` added and `Server` set when absent
 * (spec §7.2), unless `http_options.response.pristine`; then `http_options.response.headers`
 * (`false` removes, a string sets, a list sets several values).
 */
import type { HttpOptions } from '../catalog/types.ts';
import type { RequestContext } from './context.ts';
import { HOP_BY_HOP_HEADERS } from './request-headers.ts';

export const SERVER_HEADER = 'ricochet';

/** responseHeaders takes the machine's fields as a flat `[name, value, …]` list, names lowercase. */
export function responseHeaders(
  ctx: RequestContext,
  headers: readonly string[],
  options: HttpOptions['response'] | undefined,
): string[] {
  const out: string[] = [];
  let via: string | null = null;
  let hasServer = false;
  let connectionListed: Set<string> | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'connection') connectionListed = listed(connectionListed, headers[i + 1]);
  }
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const value = headers[i + 1];
    if (HOP_BY_HOP_HEADERS.has(name)) continue;
    if (connectionListed !== null && connectionListed.has(name)) continue;
    if (name === 'via') {
      via = via === null ? value : `${via}, ${value}`;
      continue;
    }
    if (name === 'server') hasServer = true;
    out.push(name, value);
  }
  const pristine = options?.pristine === true;
  if (pristine) {
    if (via !== null) out.push('via', via);
  } else {
    const ours = `${ctx.httpVersion} ricochet`;
    out.push('via', via === null ? ours : `${via}, ${ours}`, 'fly-request-id', ctx.id);
    if (!hasServer) out.push('server', SERVER_HEADER);
  }
  const overrides = options?.headers;
  if (overrides !== undefined) applyOverrides(out, overrides);
  return out;
}

/** listed adds the header names a `Connection` value lists to `names`; the usual values list none. */
function listed(names: Set<string> | null, connection: string): Set<string> | null {
  const value = connection.toLowerCase();
  if (value === 'keep-alive' || value === 'close') return names;
  for (const token of value.split(',')) {
    const name = token.trim();
    if (name !== '') (names ??= new Set()).add(name);
  }
  return names;
}

function applyOverrides(out: string[], overrides: Record<string, string | string[] | false>): void {
  for (const [rawName, value] of Object.entries(overrides)) {
    const name = rawName.toLowerCase();
    let w = 0;
    for (let r = 0; r < out.length; r += 2) {
      if (out[r] === name) continue;
      out[w++] = out[r];
      out[w++] = out[r + 1];
    }
    out.length = w;
    if (value === false) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(name, v);
  }
}
