/**
 * PublicListeners runs one HTTP/1.1 server per public port that any service declares, on the
 * local port `[listen] ports` maps it to, and opens or closes servers as the catalog changes.
 * Every request and upgrade becomes a RequestContext handed to the pipeline.
 */
import { performance } from 'node:perf_hooks';
import type { ClientExchange } from '../downstream/client-exchange.ts';
import { HttpServer, type HttpServerOptions } from '../downstream/http-server.ts';
import { BodyBuffer } from '../replay/body-buffer.ts';
import { Cancellation } from './cancellation.ts';
import type { ListenConfig } from '../config/types.ts';
import { parseHostPort } from '../config/host-port.ts';
import type { RequestContext } from './context.ts';
import { handleRequest } from './pipeline.ts';
import { readRequestHeaders } from './request-headers.ts';
import { newRequestId } from './request-id.ts';
import type { ProxyRuntime } from './runtime.ts';

/** CLIENT_KEEPALIVE_MS keeps idle client connections open (longer than common LB idle timeouts). */
export const CLIENT_KEEPALIVE_MS = 65_000;

/** CLIENT_TIMEOUTS bound what a client may make a public listener wait for (docs/decisions.md). */
export const CLIENT_TIMEOUTS: HttpServerOptions = {
  headTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  keepAliveMs: CLIENT_KEEPALIVE_MS,
  lingerMs: 2_000,
};

interface Listener {
  server: HttpServer;
  host: string;
  localPort: number;
}

export class PublicListeners {
  #rt: ProxyRuntime;
  #listeners = new Map<number, Listener>();
  /** Ports whose server is being opened: a reconcile that overlaps joins the open under way. */
  #opening = new Map<number, Promise<void>>();
  /** Servers taken out of service while connections may still use them. */
  #retired = new Set<HttpServer>();
  #inflight = 0;
  #idle: (() => void) | null = null;
  #closing = false;

  constructor(rt: ProxyRuntime) {
    this.#rt = rt;
  }

  /** localPort is the port public port `publicPort` actually listens on, if it does. */
  localPort(publicPort: number): number | undefined {
    return this.#listeners.get(publicPort)?.localPort;
  }

  /** url is the base URL public port `publicPort` is served at, if it is. */
  url(publicPort: number): string | undefined {
    const listener = this.#listeners.get(publicPort);
    if (listener === undefined) return undefined;
    const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
    return `http://${host}:${listener.localPort}`;
  }

  /** ports lists the public ports being served, with their local ports. */
  ports(): { public: number; local: number }[] {
    return [...this.#listeners].map(([pub, l]) => ({ public: pub, local: l.localPort }));
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** reconcile opens a server for every port in `publicPorts` and closes the others. */
  async reconcile(publicPorts: readonly number[]): Promise<void> {
    if (this.#closing) return;
    const wanted = new Set(publicPorts);
    const opening: Promise<void>[] = [];
    for (const port of wanted) {
      if (this.#listeners.has(port)) continue;
      let open = this.#opening.get(port);
      if (open === undefined) {
        open = this.#open(port).finally(() => this.#opening.delete(port));
        this.#opening.set(port, open);
      }
      opening.push(open);
    }
    for (const [port, listener] of this.#listeners) {
      if (!wanted.has(port)) this.#retire(port, listener);
    }
    await Promise.all(opening);
  }

  /**
   * #retire stops a server taking connections; requests in flight finish, and a kept-alive
   * connection closes as soon as it goes idle instead of after CLIENT_KEEPALIVE_MS.
   */
  #retire(port: number, listener: Listener): void {
    const { server } = listener;
    this.#listeners.delete(port);
    this.#retired.add(server);
    void server.close().then(() => this.#retired.delete(server));
    this.#rt.logger.info({ port }, 'listener closed');
  }

  /** close stops accepting, waits up to `drainMs` for in-flight requests, then closes every connection. */
  async close(drainMs: number): Promise<void> {
    this.#closing = true;
    await Promise.allSettled(this.#opening.values());
    const servers = [...this.#listeners.values()].map((l) => l.server).concat([...this.#retired]);
    this.#listeners.clear();
    this.#retired.clear();
    const closed = servers.map((server) => server.close());
    if (this.#inflight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.#idle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs))),
      ]);
      clearTimeout(timer);
    }
    for (const server of servers) server.destroyConnections();
    await Promise.all(closed);
  }

  async #open(publicPort: number): Promise<void> {
    const { host, port: wantedPort } = listenAddress(this.#rt.config.listen, publicPort);
    const server = new HttpServer(
      (exchange) => this.#track(this.#context(exchange, publicPort)),
      CLIENT_TIMEOUTS,
      (error, client) => this.#rt.logger.debug({ err: error, port: publicPort, client }, 'bad request from client'),
    );
    const localPort = await server.listen(wantedPort, host);
    if (this.#closing) {
      // The node began shutting down while this port opened.
      void server.close();
      return;
    }
    this.#listeners.set(publicPort, { server, host, localPort });
    this.#rt.logger.info({ port: publicPort, listen: `${host}:${localPort}` }, 'listening');
  }

  #track(ctx: RequestContext): void {
    this.#inflight++;
    handleRequest(this.#rt, ctx).finally(() => {
      if (--this.#inflight === 0 && this.#idle !== null) this.#idle();
    });
  }

  #context(exchange: ClientExchange, publicPort: number): RequestContext {
    const rt = this.#rt;
    const request = exchange.head;
    const headers = readRequestHeaders(request.headers);
    const cancel = new Cancellation();
    exchange.onAbort = () => cancel.cancel();
    const upgrade = request.upgrade;
    const start = performance.now();
    return {
      id: newRequestId(rt.config.region),
      start,
      startMicros: Math.round((performance.timeOrigin + start) * 1000),
      exchange,
      socket: upgrade ? exchange.socket : null,
      upgradeHead: exchange.upgradeHead,
      publicPort,
      clientIp: normalizeIp(exchange.remoteAddress),
      method: request.method,
      url: request.url,
      httpVersion: request.minor === 1 ? '1.1' : '1.0',
      host: hostOnly(request.host),
      headers,
      upstreamBase: null,
      body: exchange.body === null ? null : new BodyBuffer(exchange.body, rt.config.replay.max_body_bytes, request.contentLength),
      snapshot: rt.catalog.snapshot,
      app: null,
      hops: [],
      cacheBypass: false,
      status: 0,
      errorCode: null,
      responded: false,
      cancel,
    };
  }
}

/** listenAddress is where public port `publicPort` listens, from `[listen] ports`. */
export function listenAddress(listen: ListenConfig, publicPort: number): { host: string; port: number } {
  const mapped = listen.ports[String(publicPort)];
  if (typeof mapped === 'string') {
    const address = parseHostPort(mapped);
    if (address !== null) return address;
  }
  return { host: listen.host, port: typeof mapped === 'number' ? mapped : publicPort };
}

/** hostOnly lowercases a Host header and drops its port and any trailing dot. */
export function hostOnly(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(':');
  if (colon !== -1) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

function normalizeIp(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
