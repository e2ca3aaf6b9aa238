/**
 * buildUpstreamHeaders makes one hop's request line and headers: the client's headers (already
 * cleaned by readRequestHeaders) plus the forwarding headers of spec §7.1, then the hop's own
 * headers (fly-replay-src, fly-replay-cache-status, fly-replay-failed,
 * fly-preferred-instance-unavailable), then a JSON replay's `transform` (spec §2).
 */
import type { RequestContext, Target } from './context.ts';
import type { Pick } from './pick-machine.ts';
import { addForwardingHeaders, deleteHeader, setHeader } from './request-headers.ts';
import type { ProxyRuntime } from './runtime.ts';

export interface UpstreamHead {
  path: string;
  headers: string[];
}

export function buildUpstreamHeaders(rt: ProxyRuntime, ctx: RequestContext, target: Target, pick: Pick): UpstreamHead {
  if (ctx.upstreamBase === null) {
    // The client's cleaned headers are read once, here: they become the base list in place.
    const base = ctx.headers.forward;
    addForwardingHeaders(base, {
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
    ctx.upstreamBase = base;
  }
  const simple = target.headers.length === 0 && pick.preferredUnavailable === null && target.transform === null;
  if (simple) return { path: ctx.url, headers: ctx.upstreamBase };

  const headers = ctx.upstreamBase.concat(target.headers);
  if (pick.preferredUnavailable !== null) headers.push('fly-preferred-instance-unavailable', pick.preferredUnavailable);
  let path = ctx.url;
  const transform = target.transform;
  if (transform !== null) {
    // Deletes first, then sets, so a set header is never deleted by the same transform (decision).
    for (const name of transform.deleteHeaders) deleteHeader(headers, name.toLowerCase());
    for (const { name, value } of transform.setHeaders) setHeader(headers, name.toLowerCase(), value);
    if (transform.path !== null) path = rewritePath(ctx.url, transform.path);
  }
  return { path, headers };
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
