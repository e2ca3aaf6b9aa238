/**
 * respondError is the one place an error becomes a response: the status comes from the error's
 * code (errors.ts), the body names the code and the request id, and `ricochet-error` carries the
 * code for scripts and tests. Once response bytes have gone out it can only close the connection.
 */
import type { RequestContext } from './context.ts';
import { ProxyError } from './errors.ts';
import type { ProxyRuntime } from './runtime.ts';
import { STATUS_CODES } from 'node:http';

export function respondError(rt: ProxyRuntime, ctx: RequestContext, error: ProxyError): void {
  const status = error.status;
  ctx.errorCode = error.code;
  const level = error.source === 'downstream' || status < 500 ? 'info' : 'warn';
  rt.logger[level]({ request: ctx.id, code: error.code, reason: error.message, err: error.cause ?? undefined }, 'request failed');
  if (ctx.responded || (error.code === 'RC03' && ctx.cancel.cancelled)) {
    ctx.res?.destroy();
    ctx.socket?.destroy();
    return;
  }
  ctx.status = status;
  ctx.responded = true;
  const body = `${error.code}: ${error.message}\nrequest id: ${ctx.id}\n`;
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'fly-request-id': ctx.id,
    'ricochet-error': error.code,
    ...error.headers,
  };
  if (ctx.res !== null) {
    ctx.res.writeHead(status, headers);
    ctx.res.end(body);
    return;
  }
  writeRaw(ctx, status, { ...headers, connection: 'close' }, body);
}

/** respondRedirect answers a permanent redirect (force_https, spec §7.3). */
export function respondRedirect(ctx: RequestContext, location: string): void {
  ctx.status = 301;
  ctx.responded = true;
  const headers = { location, 'content-length': '0', 'fly-request-id': ctx.id };
  if (ctx.res !== null) ctx.res.writeHead(301, headers).end();
  else writeRaw(ctx, 301, { ...headers, connection: 'close' }, '');
}

/** writeRaw answers on the raw socket of an upgrade request. */
function writeRaw(ctx: RequestContext, status: number, headers: Record<string, string>, body: string): void {
  const socket = ctx.socket!;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  socket.end(`${head}\r\n${body}`);
}
