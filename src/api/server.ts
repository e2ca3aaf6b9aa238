/**
 * ApiServer serves the Machines API (spec §14) on `[listen] api` with node:http: it matches the
 * route table, checks the bearer token, reads and validates the JSON body and the query with
 * the route's schemas, runs the handler, and writes the answer, or the error through
 * `writeApiError`. Nothing a client sends can crash it: every failure is an ApiError.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { parseHostPort } from '../config/host-port.ts';
import { newRequestId } from '../proxy/request-id.ts';
import type { ApiDeps } from './api-deps.ts';
import { ApiError, toApiError, writeApiError } from './api-error.ts';
import { checkBearer } from './auth.ts';
import { MachineLifecycle } from './machine-lifecycle.ts';
import { readJsonBody } from './read-json-body.ts';
import { matchPath, type ApiContext, type ApiReply, type RouteMatch } from './route.ts';
import { ROUTES } from './routes.ts';
import { validateInput, validationError } from './validate-input.ts';
import { WaitRegistry, type WaitRegistryOptions } from './wait-registry.ts';

/** API_CLOSE_GRACE_MS bounds how long `close` waits for answers in flight. */
export const API_CLOSE_GRACE_MS = 2_000;
/** API_HEADERS_TIMEOUT_MS and API_REQUEST_TIMEOUT_MS bound slow clients (a wait lasts at most 60 s). */
export const API_HEADERS_TIMEOUT_MS = 10_000;
export const API_REQUEST_TIMEOUT_MS = 90_000;

export interface ApiServerOptions {
  waits?: WaitRegistryOptions;
}

export class ApiServer {
  #deps: ApiDeps;
  #logger: Logger;
  #ctx: ApiContext;
  #server: Server | null = null;
  #url: string | null = null;
  #closing: Promise<void> | null = null;
  #inflight = 0;
  #idle: (() => void) | null = null;

  constructor(deps: ApiDeps, options: ApiServerOptions = {}) {
    this.#deps = deps;
    this.#logger = deps.logger.child({ component: 'api' });
    this.#ctx = { deps, lifecycle: new MachineLifecycle(deps), waits: new WaitRegistry(deps.catalog, options.waits) };
  }

  /** url is where the API listens, e.g. "http://127.0.0.1:4280"; it throws before `listen`. */
  get url(): string {
    if (this.#url === null) throw new Error('Cannot give the API URL: the API server is not listening');
    return this.#url;
  }

  /** listen binds `address` ("host:port"; port 0 = any free port) and starts serving. */
  async listen(address: string): Promise<void> {
    const hostPort = parseHostPort(address);
    if (hostPort === null) throw new Error(`Cannot listen for the Machines API on "${address}": not a host:port`);
    const server = createServer({ headersTimeout: API_HEADERS_TIMEOUT_MS, requestTimeout: API_REQUEST_TIMEOUT_MS });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#track(this.#handle(req, res)));
    server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(hostPort.port, hostPort.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const port = (server.address() as { port: number }).port;
    const host = hostPort.host.includes(':') ? `[${hostPort.host}]` : hostPort.host;
    this.#url = `http://${host}:${port}`;
    this.#ctx.lifecycle.start();
    this.#logger.info({ listen: `${host}:${port}`, auth: this.#deps.config().api.token !== null }, 'machines API listening');
  }

  /** close ends open waits (503), stops accepting, and waits up to API_CLOSE_GRACE_MS for answers in flight. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#ctx.lifecycle.close();
      this.#ctx.waits.close();
      const server = this.#server;
      if (server === null) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (this.#inflight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (this.#idle = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, API_CLOSE_GRACE_MS))),
        ]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await closed;
    })();
    return this.#closing;
  }

  #track(handling: Promise<void>): void {
    this.#inflight++;
    void handling.finally(() => {
      if (--this.#inflight === 0 && this.#idle !== null) this.#idle();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const id = newRequestId(this.#deps.config().region);
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    let status: number;
    let code: string | null = null;
    let path = '';
    try {
      const url = requestUrl(req.url);
      path = url.pathname;
      const match = this.#match(req.method ?? 'GET', url.pathname, req.headers.authorization);
      const reply = await this.#run(match, req, url, id, abort.signal);
      status = reply.status;
      writeReply(res, reply, id);
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.code === 'internal') this.#logger.error({ err: error, request_id: id }, 'machines API request failed');
      status = apiError.status;
      code = apiError.code;
      // A body not read yet is discarded, so the connection can serve the next request; a body
      // too large was answered with `connection: close` (read-json-body.ts).
      if (!req.readableEnded) req.resume();
      writeApiError(res, apiError, id);
    }
    const ms = Math.round((performance.now() - started) * 10) / 10;
    this.#logger.info({ request_id: id, method: req.method, path, status, code, ms }, 'api request');
  }

  /** #match finds the route; a caller without the token learns nothing, not even that a path is unknown. */
  #match(method: string, path: string, authorization: string | undefined): RouteMatch {
    if (this.#closing !== null) throw new ApiError('unavailable');
    const matches = matchPath(ROUTES, path);
    const match = matches.find((m) => m.route.method === method);
    if (match?.route.public !== true) checkBearer(authorization, this.#deps.config().api.token);
    if (matches.length === 0) throw new ApiError('not_found', `No route for ${path}`);
    if (match === undefined) {
      const allow = [...new Set(matches.map((m) => m.route.method))].join(', ');
      throw new ApiError('method_not_allowed', `${method} is not allowed on ${path} (allowed: ${allow})`, { headers: { allow } });
    }
    return match;
  }

  async #run(match: RouteMatch, req: IncomingMessage, url: URL, id: string, signal: AbortSignal): Promise<ApiReply> {
    const { route } = match;
    const params = decodeParams(match.params);
    let body: unknown = undefined;
    if (route.body !== undefined) {
      const raw = await readJsonBody(req);
      if (raw === undefined && route.bodyRequired === true) {
        throw validationError('body', [{ path: '', rule: 'is required (a JSON object)' }]);
      }
      body = validateInput(route.body as z.ZodType, raw, 'body');
    } else {
      req.resume();
    }
    const query = route.query === undefined ? undefined : validateInput(route.query, queryObject(url.searchParams, route.query), 'query');
    return route.handler({ id, params, body, query, search: url.searchParams, headers: req.headers, signal }, this.#ctx);
  }
}

function requestUrl(raw: string | undefined): URL {
  if (raw === undefined || !raw.startsWith('/')) throw new ApiError('invalid_request', 'The request target must be a path');
  try {
    return new URL(raw, 'http://api.invalid');
  } catch {
    throw new ApiError('invalid_request', 'The request target is not a valid URL path');
  }
}

function decodeParams(params: Record<string, string>): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    try {
      decoded[key] = decodeURIComponent(value);
    } catch {
      throw validationError('query', [{ path: key, rule: 'is not valid percent-encoding' }]);
    }
  }
  return decoded;
}

/** queryObject reads the schema's keys from the query: one value as a string, repeated as an array. */
function queryObject(search: URLSearchParams, schema: z.ZodObject): Record<string, string | string[]> {
  const object: Record<string, string | string[]> = {};
  for (const key of Object.keys(schema.shape)) {
    const values = search.getAll(key);
    if (values.length === 1) object[key] = values[0];
    else if (values.length > 1) object[key] = values;
  }
  return object;
}

function writeReply(res: ServerResponse, reply: ApiReply, id: string): void {
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status, { 'fly-request-id': id });
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'fly-request-id': id,
  });
  res.end(text);
}
