/**
 * buildUpstreamHeaders makes one hop's request line and headers: the client's headers (already
 * cleaned by readRequestHeaders) plus the forwarding headers of spec §7.1, then the hop's own
 * headers (fly-replay-src, fly-replay-cache-status, fly-replay-failed,
 * fly-preferred-instance-unavailable), then a JSON replay's `transform` (spec §2).
 */
import { formatFieldLines } from '../http1/fields.ts';
import type { RequestContext, Target } from './context.ts';
import type { Pick } from './pick-machine.ts';
import { addForwardingHeaders, deleteHeader, setHeader } from './request-headers.ts';
import type { ProxyRuntime } from './runtime.ts';

/** UpstreamHead is one hop's request target and header lines, as they go to the machine. */
export interface UpstreamHead {
  path: string;
  /** `name: value\r\n` per field (formatFieldLines). */
  fields: string;
}

/** ForwardedHeaders is the client's cleaned headers plus the forwarding headers, built once per request. */
export interface ForwardedHeaders {
  /** Flat `[name, value, …]`. */
  list: string[];
  /** `list` as header lines: every hop without a transform starts from them. */
  fields: string;
}

export function buildUpstreamHeaders(rt: ProxyRuntime, ctx: RequestContext, target: Target, pick: Pick): UpstreamHead {
  if (ctx.upstreamBase === null) {
    // The client's cleaned headers are read once, here: they become the base list in place.
    const list = ctx.headers.forward;
    addForwardingHeaders(list, {
      clientIp: ctx.clientIp,
      publicPort: ctx.publicPort,
      region: rt.config.region,
      https: false,
      requestId: ctx.id,
      startMicros: ctx.startMicros,
      forwardedFor: ctx.headers.forwardedFor,
      via: ctx.headers.via,
      httpVersion: ctx.httpVersion,
    });
    ctx.upstreamBase = { list, fields: formatFieldLines(list) };
  }
  const base = ctx.upstreamBase;
  const transform = target.transform;
  if (transform === null) {
    // The hop's own headers follow the base lines: a replay's second hop rewrites none of them.
    let fields = base.fields;
    if (target.headers.length > 0) fields += formatFieldLines(target.headers);
    if (pick.preferredUnavailable !== null) fields += `fly-preferred-instance-unavailable: ${pick.preferredUnavailable}\r\n`;
    return { path: ctx.url, fields };
  }
  const headers = base.list.concat(target.headers);
  if (pick.preferredUnavailable !== null) headers.push('fly-preferred-instance-unavailable', pick.preferredUnavailable);
  // Deletes first, then sets, so a set header is never deleted by the same transform (decision).
  for (const name of transform.deleteHeaders) deleteHeader(headers, name.toLowerCase());
  for (const { name, value } of transform.setHeaders) setHeader(headers, name.toLowerCase(), value);
  const path = transform.path === null ? ctx.url : rewritePath(ctx.url, transform.path);
  return { path, fields: formatFieldLines(headers) };
}

/**
 * rewritePath applies `transform.path`: a path with a `?` replaces path and query; a path without
 * one keeps the original query ([UNDOC] in spec §2; docs/decisions.md).
 */
export function rewritePath(original: string, replacement: string): string {
  if (replacement.includes('?')) return replacement;
  const q = original.indexOf('?');
  return q === -1 ? replacement : replacement + original.slice(q);
}
