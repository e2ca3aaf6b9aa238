/**
 * forwardUpgrade sends an upgrade request (WebSocket or any `Upgrade`) to a machine over a raw
 * TCP connection and reads the response head itself, so that a `fly-replay` answer can still be
 * replayed before the upgrade is accepted (spec §1.3.10). A `101` joins the two sockets until
 * either side closes, and the machine's load counts the connection for its whole life.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Machine } from '../catalog/types.ts';
import { isReplayJsonContentType } from '../replay/directive.ts';
import type { ReplayResponse } from '../replay/plan.ts';
import type { RequestContext } from './context.ts';
import type { Pick } from './pick-machine.ts';
import { ProxyError } from './errors.ts';
import { originOf, REPLAY_JSON_MAX_BYTES, ReplaySink, upstreamError } from './forward-http.ts';
import { responseHeaders } from './response-headers.ts';
import type { ProxyRuntime } from './runtime.ts';
import type { UpstreamHead } from './upstream-headers.ts';
import { ChunkedDecoder } from '../upstream/chunked-decoder.ts';
import {
  BadResponseError,
  findHeadEnd,
  headerValue,
  MAX_RESPONSE_HEAD_BYTES,
  parseResponseHead,
  type ResponseHead,
} from '../upstream/response-head.ts';
import { UpstreamError } from '../upstream/connection.ts';


interface ParsedHead extends ResponseHead {
  /** Bytes after the head. */
  rest: Buffer;
}

export async function forwardUpgrade(rt: ProxyRuntime, ctx: RequestContext, pick: Pick, head: UpstreamHead): Promise<ReplayResponse | null> {
  const { machine, service } = pick;
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
    upstream.write(`${ctx.method} ${head.path} HTTP/1.1\r\n${head.fields}connection: upgrade\r\nupgrade: ${ctx.headers.upgrade}\r\n\r\n`);
    if (ctx.upgradeHead !== null && ctx.upgradeHead.length > 0) upstream.write(ctx.upgradeHead);

    const response = await readHead(upstream, machine);
    const json = isReplayJsonContentType(headerValue(response.headers, 'content-type'));
    if (response.status !== 101 && (headerValue(response.headers, 'fly-replay') !== undefined || json)) {
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
    if (response.status === 101) out += `connection: upgrade\r\nupgrade: ${headerValue(response.headers, 'upgrade') ?? ctx.headers.upgrade}\r\n`;
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
    socket.once('timeout', () => fail(new UpstreamError('UPSTREAM_CONNECT_TIMEOUT', 'connect timed out')));
    socket.once('connect', () => {
      socket.off('error', fail);
      socket.setTimeout(0);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** readHead reads and parses an HTTP/1.1 response head, bounded by MAX_RESPONSE_HEAD_BYTES. */
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
      done(error ?? new UpstreamError('UPSTREAM_CLOSED', 'the machine closed the connection before answering'));
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = findHeadEnd(buffered);
      if (end === -1 && buffered.length <= MAX_RESPONSE_HEAD_BYTES) return;
      try {
        if (end === -1 || end > MAX_RESPONSE_HEAD_BYTES) throw new BadResponseError(`response head over ${MAX_RESPONSE_HEAD_BYTES} bytes`);
        const head = parseResponseHead(buffered.toString('latin1', 0, end - 4));
        done(null, { ...head, rest: buffered.subarray(end) });
      } catch (error) {
        done(new ProxyError('PU02', `machine "${machine.id}" sent a bad response head: ${(error as Error).message}`, { source: 'upstream' }));
      }
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
  const decoder = head.chunked ? new ChunkedDecoder() : null;
  let remaining = head.contentLength ?? 0;
  const take = (chunk: Buffer): boolean => {
    if (decoder !== null) {
      decoder.push(chunk, (data) => sink.write(data));
      return decoder.done || sink.overflowed;
    }
    const part = chunk.subarray(0, remaining);
    remaining -= part.length;
    sink.write(part);
    return remaining === 0 || sink.overflowed;
  };
  if (take(head.rest)) return;
  socket.resume();
  for await (const chunk of socket as AsyncIterable<Buffer>) {
    if (take(chunk)) return;
  }
}

function withoutHopByHop(headers: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'connection' && headers[i] !== 'upgrade') kept.push(headers[i], headers[i + 1]);
  }
  return kept;
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
