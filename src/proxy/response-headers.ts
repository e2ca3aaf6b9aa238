/**
 * responseHeaders turns a machine's response headers into the client's: hop-by-hop headers
 * dropped (RFC 9110 §7.6.1), `Fly-Request-Id` and `Via` added and `Server` set when absent
 * (spec §7.2), unless `http_options.response.pristine`; then `http_options.response.headers`
 * (`false` removes, a string sets, a list sets several values).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpOptions } from '../catalog/types.ts';
import type { RequestContext } from './context.ts';
import { HOP_BY_HOP_HEADERS } from './request-headers.ts';

export const SERVER_HEADER = 'ricochet';

type UpstreamHeaders = IncomingHttpHeaders | Record<string, string | string[] | undefined>;

export function responseHeaders(
  ctx: RequestContext,
  headers: UpstreamHeaders,
  options: HttpOptions['response'] | undefined,
): string[] {
  const out: string[] = [];
  let via: string | null = null;
  let hasServer = false;
  const connectionListed = listed(headers['connection']);
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP_HEADERS.has(name)) continue;
    if (connectionListed !== null && connectionListed.has(name)) continue;
    if (name === 'via') {
      via = Array.isArray(value) ? value.join(', ') : value;
      continue;
    }
    if (name === 'server') hasServer = true;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  const pristine = options?.pristine === true;
  if (pristine) {
    if (via !== null) out.push('via', via);
  } else {
    const ours = `${ctx.req.httpVersion} ricochet`;
    out.push('via', via === null ? ours : `${via}, ${ours}`, 'fly-request-id', ctx.id);
    if (!hasServer) out.push('server', SERVER_HEADER);
  }
  const overrides = options?.headers;
  if (overrides !== undefined) applyOverrides(out, overrides);
  return out;
}

function listed(connection: string | string[] | undefined): Set<string> | null {
  // The usual values name no other header.
  if (connection === undefined || connection === 'keep-alive' || connection === 'close') return null;
  const text = Array.isArray(connection) ? connection.join(',') : connection;
  return new Set(text.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== ''));
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
