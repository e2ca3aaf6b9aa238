/**
 * forwardHttp sends one hop of an HTTP request to a machine through its keep-alive pool and,
 * when the response head arrives, decides before a byte goes to the client: a `fly-replay`
 * header or a JSON replay body makes it a replay (the response is drained and dropped, spec
 * §1.3); anything else streams to the client with backpressure.
 */
import type { Machine, Service } from '../catalog/types.ts';
import { isReplayJsonContentType } from '../replay/directive.ts';
import type { ReplayResponse } from '../replay/plan.ts';
import type { RequestContext } from './context.ts';
import type { Pick } from './pick-machine.ts';
import { ProxyError, type ErrorCode } from './errors.ts';
import { responseHeaders } from './response-headers.ts';
import type { ProxyRuntime } from './runtime.ts';
import type { UpstreamHead } from './upstream-headers.ts';
import type { BodySink } from '../upstream/connection.ts';
import { headerValue } from '../upstream/response-head.ts';

/** REPLAY_JSON_MAX_BYTES bounds a JSON replay body (spec §2). */
export const REPLAY_JSON_MAX_BYTES = 64 * 1024;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export async function forwardHttp(rt: ProxyRuntime, ctx: RequestContext, pick: Pick, head: UpstreamHead): Promise<ReplayResponse | null> {
  const { machine, service, port } = pick;
  const exchange = ctx.exchange;
  const pool = rt.pools.get(originOf(machine, service));
  const release = rt.load.acquire(machine.id);
  let replay: ReplayResponse | null = null;
  try {
    await pool.stream(
      {
        path: head.path,
        method: ctx.method,
        fields: head.fields,
        body: ctx.body === null ? null : ctx.body.reader(),
        bodyLength: ctx.exchange.head.contentLength !== null,
        cancel: ctx.cancel,
      },
      ({ status: statusCode, headers }) => {
        const json = isReplayJsonContentType(headerValue(headers, 'content-type'));
        if (json || headerValue(headers, 'fly-replay') !== undefined) {
          const sink = new ReplaySink(json ? REPLAY_JSON_MAX_BYTES : 0);
          replay = { machine, status: statusCode, headers, sink };
          return sink;
        }
        exchange.writeHead(statusCode, responseHeaders(ctx, headers, port.http_options?.response));
        ctx.hops.push({ app: machine.app, machine: machine.id, region: machine.region, status: statusCode });
        ctx.status = statusCode;
        ctx.responded = true;
        return exchange;
      },
    );
  } catch (error) {
    // A replaying response too long to drain: the connection is dropped, the replay stands.
    if (replay !== null && error instanceof ReplayDrainLimitError) return replay;
    throw upstreamError(error, ctx, machine);
  } finally {
    release();
  }
  return replay;
}

/** Per machine record (immutable; replaced on every change): internal port -> origin. */
const origins = new WeakMap<Machine, Map<number, string>>();

/** originOf is the address a machine's service listens on while the machine is started. */
export function originOf(machine: Machine, service: Service): string {
  let byPort = origins.get(machine);
  const cached = byPort?.get(service.internal_port);
  if (cached !== undefined) return cached;
  const runtime = machine.runtime;
  const port = runtime?.ports[String(service.internal_port)];
  if (runtime === null || port === undefined) {
    throw new ProxyError('PR02', `machine "${machine.id}" has no address for port ${service.internal_port}`, {
      source: 'internal',
      retryable: true,
    });
  }
  const host = runtime.host.includes(':') ? `[${runtime.host}]` : runtime.host;
  const origin = `http://${host}:${port}`;
  if (byPort === undefined) origins.set(machine, (byPort = new Map()));
  byPort.set(service.internal_port, origin);
  return origin;
}

/** upstreamError turns an upstream failure into a ProxyError that says whether a retry is safe. */
export function upstreamError(error: unknown, ctx: RequestContext, machine: Machine): ProxyError {
  if (error instanceof ProxyError) return error;
  // The client went away: whatever the upstream side reports then, it is not the machine's failure.
  if (ctx.cancel.cancelled) return new ProxyError('RC03', 'the client went away', { source: 'downstream', cause: error });
  const code = (error as { code?: string }).code;
  const retryIfIdempotent = IDEMPOTENT.has(ctx.method) && !ctx.responded;
  const fail = (c: ErrorCode, retryable: boolean) =>
    new ProxyError(c, `machine "${machine.id}": ${(error as Error).message}`, { source: 'upstream', retryable, cause: error });
  switch (code) {
    case 'ECONNREFUSED':
      return fail('PC01', true);
    case 'UPSTREAM_CONNECT_TIMEOUT':
      return fail('PC05', true);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UPSTREAM_CLOSED':
      return fail('PC03', retryIfIdempotent);
    case 'UPSTREAM_HEADERS_TIMEOUT':
      return fail('PU05', false);
    case 'UPSTREAM_BODY_TIMEOUT':
      return fail('PU02', false);
    case 'UPSTREAM_ABORTED':
      return new ProxyError('RC03', 'the client went away', { source: 'downstream', cause: error });
    default:
      return fail('PC06', false);
  }
}

/**
 * REPLAY_DRAIN_MAX_BYTES bounds how much of a replaying response's body is read and dropped to
 * keep its connection for reuse; past it the connection is closed instead.
 */
export const REPLAY_DRAIN_MAX_BYTES = 1024 * 1024;

/** ReplayDrainLimitError ends the drain of a replaying response that is too long. */
export class ReplayDrainLimitError extends Error {}

/** ReplaySink takes a replaying response's body: kept up to `limit` bytes (JSON form), else dropped. */
export class ReplaySink implements BodySink {
  readonly limit: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  overflowed = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** write keeps or drops `chunk`; throws ReplayDrainLimitError past REPLAY_DRAIN_MAX_BYTES. */
  write(chunk: Buffer): boolean {
    this.#bytes += chunk.length;
    if (this.#bytes <= this.limit) this.#chunks.push(chunk);
    else if (this.limit > 0) this.overflowed = true;
    if (this.#bytes > REPLAY_DRAIN_MAX_BYTES) {
      throw new ReplayDrainLimitError(`the replaying response's body is over ${REPLAY_DRAIN_MAX_BYTES} bytes`);
    }
    return true;
  }

  end(last?: Buffer): void {
    if (last !== undefined) this.write(last);
  }

  /** once: a ReplaySink never asks to wait, so it never emits 'drain'. */
  once(): this {
    return this;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
