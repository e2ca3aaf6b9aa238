/**
 * respondError is the one place an error becomes a response: the status comes from the error's
 * code (errors.ts), the body names the code and the request id, and `ricochet-error` carries the
 * code for scripts and tests. Once response bytes have gone out it can only close the connection.
 */
import type { RequestContext } from './context.ts';
import { ProxyError } from './errors.ts';
import type { ProxyRuntime } from './runtime.ts';

export function respondError(rt: ProxyRuntime, ctx: RequestContext, error: ProxyError): void {
  const status = error.status;
  ctx.errorCode = error.code;
  const level = error.source === 'downstream' || status < 500 ? 'info' : 'warn';
  rt.logger[level]({ request: ctx.id, code: error.code, reason: error.message, err: error.cause ?? undefined }, 'request failed');
  if (ctx.responded || (error.code === 'RC03' && ctx.cancel.cancelled)) {
    ctx.exchange.destroy();
    return;
  }
  ctx.status = status;
  ctx.responded = true;
  const body = `${error.code}: ${error.message}\nrequest id: ${ctx.id}\n`;
  const headers = [
    'content-type', 'text/plain; charset=utf-8',
    'content-length', String(Buffer.byteLength(body)),
    'fly-request-id', ctx.id,
    'ricochet-error', error.code,
  ];
  for (const [name, value] of Object.entries(error.headers)) headers.push(name, value);
  respond(ctx, status, headers, body);
}

/** respondRedirect answers a permanent redirect (force_https, spec §7.3). */
export function respondRedirect(ctx: RequestContext, location: string): void {
  ctx.status = 301;
  ctx.responded = true;
  respond(ctx, 301, ['location', location, 'content-length', '0', 'fly-request-id', ctx.id], '');
}

/** respond writes a whole response; an upgrade request's answer closes its connection. */
function respond(ctx: RequestContext, status: number, headers: string[], body: string): void {
  const exchange = ctx.exchange;
  if (ctx.socket !== null) exchange.keepAlive = false;
  exchange.writeHead(status, headers);
  exchange.end(body);
}
