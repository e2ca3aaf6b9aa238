/**
 * forwardUpgrade sends an upgrade request (WebSocket or any `Upgrade`) to a machine over a raw
 * TCP connection and reads the response head itself, so that a `fly-replay` answer can still be
 * replayed before the upgrade is accepted (spec §1.3.10). A `101` joins the two sockets until
 * either side closes, and the machine's load counts the connection for its whole life.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Machine, Service } from '../catalog/types.ts';
import { isReplayJsonContentType } from '../replay/directive.ts';
import type { ReplayResponse } from '../replay/plan.ts';
import type { RequestContext, Target } from './context.ts';
import { ProxyError } from './errors.ts';
import { originOf, REPLAY_JSON_MAX_BYTES, ReplaySink, upstreamError } from './forward-http.ts';
import { responseHeaders } from './response-headers.ts';
import type { ProxyRuntime } from './runtime.ts';
import type { UpstreamHead } from './upstream-headers.ts';

/** UPGRADE_HEAD_MAX_BYTES bounds a machine's response head to an upgrade request. */
export const UPGRADE_HEAD_MAX_BYTES = 64 * 1024;
/** CHUNK_LINE_MAX_BYTES is the slack past a JSON replay body's limit for chunk framing. */
const CHUNK_LINE_MAX_BYTES = 1024;

interface ParsedHead {
  status: number;
  headers: Record<string, string | string[]>;
  /** Bytes after the head. */
  rest: Buffer;
}

export async function forwardUpgrade(
  rt: ProxyRuntime,
  ctx: RequestContext,
  target: Target,
  machine: Machine,
  service: Service,
  head: UpstreamHead,
): Promise<ReplayResponse | null> {
  void target;
  const client = ctx.socket!;
  const url = new URL(originOf(machine, service));
  // Count the connection from before it opens, so concurrent upgrades see it (hard limit).
  const release = rt.load.acquire(machine.id);
  let upstream: Socket;
  try {
    upstream = await open(rt, ctx, machine, url.hostname, Number(url.port));
  } catch (error) {
    release();
    throw error;
  }
  let joined = false;
  try {
    let text = `${ctx.method} ${head.path} HTTP/1.1\r\n`;
    for (let i = 0; i < head.headers.length; i += 2) text += `${head.headers[i]}: ${head.headers[i + 1]}\r\n`;
    text += `connection: upgrade\r\nupgrade: ${ctx.headers.upgrade}\r\n\r\n`;
    upstream.write(text);
    if (ctx.upgradeHead !== null && ctx.upgradeHead.length > 0) upstream.write(ctx.upgradeHead);

    const response = await readHead(upstream, machine);
    const contentType = response.headers['content-type'];
    const json = isReplayJsonContentType(typeof contentType === 'string' ? contentType : undefined);
    if (response.status !== 101 && (response.headers['fly-replay'] !== undefined || json)) {
      const sink = new ReplaySink(json ? REPLAY_JSON_MAX_BYTES : 0);
      if (json) await readBody(upstream, response, sink);
      upstream.destroy();
      return { machine, status: response.status, headers: response.headers, sink };
    }

    ctx.hops.push({ app: machine.app, machine: machine.id, region: machine.region, status: response.status });
    ctx.status = response.status;
    ctx.responded = true;
    let out = `HTTP/1.1 ${response.status} ${response.status === 101 ? 'Switching Protocols' : ''}\r\n`;
    const headers = responseHeaders(ctx, withoutHopByHop(response.headers), undefined);
    for (let i = 0; i < headers.length; i += 2) out += `${headers[i]}: ${headers[i + 1]}\r\n`;
    if (response.status === 101) out += `connection: upgrade\r\nupgrade: ${response.headers['upgrade'] ?? ctx.headers.upgrade}\r\n`;
    else out += 'connection: close\r\n';
    client.write(`${out}\r\n`);
    if (response.rest.length > 0) client.write(response.rest);
    joined = true;
    await join(client, upstream);
    return null;
  } catch (error) {
    upstream.destroy();
    throw upstreamError(error, ctx, machine);
  } finally {
    if (!joined) upstream.destroy();
    release();
  }
}

function open(rt: ProxyRuntime, ctx: RequestContext, machine: Machine, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: rt.config.proxy.connect_timeout_ms });
    const fail = (error: Error) => {
      socket.destroy();
      reject(upstreamError(error, ctx, machine));
    };
    socket.once('error', fail);
    socket.once('timeout', () => fail(Object.assign(new Error('connect timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })));
    socket.once('connect', () => {
      socket.off('error', fail);
      socket.setTimeout(0);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** readHead reads and parses an HTTP/1.1 response head, bounded by UPGRADE_HEAD_MAX_BYTES. */
function readHead(socket: Socket, machine: Machine): Promise<ParsedHead> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const done = (error: Error | null, head?: ParsedHead) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      if (error !== null) reject(error);
      else resolve(head!);
    };
    const onEnd = (error?: Error) =>
      done(error ?? Object.assign(new Error('the machine closed the connection before answering'), { code: 'UND_ERR_SOCKET' }));
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > UPGRADE_HEAD_MAX_BYTES) {
          done(new ProxyError('PU02', `machine "${machine.id}" sent a response head over ${UPGRADE_HEAD_MAX_BYTES} bytes`, { source: 'upstream' }));
        }
        return;
      }
      const lines = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
      if (!Number.isInteger(status)) {
        done(new ProxyError('PU02', `machine "${machine.id}" sent an invalid status line`, { source: 'upstream' }));
        return;
      }
      const headers: Record<string, string | string[]> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        const existing = headers[name];
        if (existing === undefined) headers[name] = value;
        else headers[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
      }
      done(null, { status, headers, rest: buffered.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
  });
}

/**
 * readBody reads a JSON replay body into the sink, framed by Content-Length or chunked
 * (RFC 9112 §7.1), stopping once the sink's limit is passed (the sink then says it overflowed).
 */
async function readBody(socket: Socket, head: ParsedHead, sink: ReplaySink): Promise<void> {
  const chunks = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buffered = head.rest;
  socket.resume();
  const more = async (): Promise<boolean> => {
    if (buffered.length > sink.limit + CHUNK_LINE_MAX_BYTES) return false;
    const next = await chunks.next();
    if (next.done === true) return false;
    buffered = Buffer.concat([buffered, next.value]);
    return true;
  };
  if (!/\bchunked\b/i.test(String(head.headers['transfer-encoding'] ?? ''))) {
    const length = Number(head.headers['content-length'] ?? 0);
    while (buffered.length < length && (await more()));
    sink.write(buffered.subarray(0, length));
    return;
  }
  for (;;) {
    let eol = buffered.indexOf('\r\n');
    while (eol === -1 && (await more())) eol = buffered.indexOf('\r\n');
    const size = eol === -1 ? NaN : Number.parseInt(buffered.subarray(0, eol).toString('latin1'), 16);
    if (!Number.isSafeInteger(size) || size <= 0) return;
    const end = eol + 2 + size;
    while (buffered.length < end && (await more()));
    sink.write(buffered.subarray(eol + 2, Math.min(end, buffered.length)));
    if (buffered.length < end) return;
    buffered = buffered.subarray(end + 2);
  }
}

function withoutHopByHop(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const copy = { ...headers };
  delete copy['connection'];
  delete copy['upgrade'];
  return copy;
}

/**
 * join pipes the two sockets both ways and resolves once both are closed. Both ends close
 * together: one side closing, or ending its half (once what it sent has been written to the
 * other side), closes both, so a peer that ignores a half-close cannot hold the connection.
 */
function join(client: Duplex, upstream: Socket): Promise<void> {
  return new Promise((resolve) => {
    let open = 2;
    const both = () => {
      client.destroy();
      upstream.destroy();
    };
    const closed = () => {
      both();
      if (--open === 0) resolve();
    };
    client.once('close', closed);
    upstream.once('close', closed);
    client.once('finish', both);
    upstream.once('finish', both);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.resume();
  });
}
