/**
 * logAccess writes the one JSON access-log line of a request (design doc: pino, one line per
 * request): request id, method, host, path, status, the app and machine that answered, every
 * replay hop, the error code if any, and the duration.
 */
import { performance } from 'node:perf_hooks';
import type { RequestContext } from './context.ts';
import type { ProxyRuntime } from './runtime.ts';

export function logAccess(rt: ProxyRuntime, ctx: RequestContext): void {
  const last = ctx.hops.length === 0 ? null : ctx.hops[ctx.hops.length - 1];
  rt.logger.info(
    {
      request: ctx.id,
      method: ctx.method,
      host: ctx.host,
      path: ctx.url,
      port: ctx.publicPort,
      status: ctx.status,
      app: last?.app ?? ctx.app?.name ?? null,
      machine: last?.machine ?? null,
      region: last?.region ?? null,
      hops: ctx.hops.length > 1 ? ctx.hops : undefined,
      code: ctx.errorCode ?? undefined,
      ms: Math.round((performance.now() - ctx.start) * 100) / 100,
    },
    'request',
  );
}
