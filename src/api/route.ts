/**
 * Route is one entry of the Machines API's route table: method, path template, the schemas of
 * its body, query and answers, a curl example, and the handler. The server validates with the
 * schemas before the handler runs; `openapi.ts` and docs/api.md are generated from the same
 * entries.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { ApiDeps } from './api-deps.ts';
import type { MachineLifecycle } from './machine-lifecycle.ts';
import type { WaitRegistry } from './wait-registry.ts';
import type { ApiErrorCode } from './api-error.ts';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** ApiContext is what handlers work with: the node's parts, the lifecycle and the open waits. */
export interface ApiContext {
  deps: ApiDeps;
  lifecycle: MachineLifecycle;
  waits: WaitRegistry;
}

export interface ApiRequest<B, Q> {
  id: string;
  params: Record<string, string>;
  body: B;
  query: Q;
  /** The raw query, for keys no schema can list (`metadata.<key>`). */
  search: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

export interface ApiReply {
  status: number;
  body?: unknown;
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
}

/** RouteExample feeds the curl line in docs/api.md. */
export interface RouteExample {
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodObject | undefined> {
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'Apps' | 'Machines' | 'Machine actions' | 'Leases' | 'Metadata' | 'Replay cache' | 'Meta';
  body?: B;
  /** bodyRequired: an empty body is a 422 `config is required` rather than `{}`. */
  bodyRequired?: boolean;
  query?: Q;
  /** public routes need no token (only the OpenAPI document). */
  public?: boolean;
  ok: { status: number } & ResponseSpec;
  /** Error codes the route can answer besides the ones every route can (401, 400 …). */
  errors: ApiErrorCode[];
  example: RouteExample;
  handler: (req: ApiRequest<Output<B>, Output<Q>>, ctx: ApiContext) => ApiReply | Promise<ApiReply>;
}

// The table holds routes of every body and query type; the server only calls them with input
// their own schemas produced.
export type Route = RouteSpec<any, any>;

/** route keeps a route's types while it is written, and erases them for the table. */
export function route<B extends z.ZodType | undefined = undefined, Q extends z.ZodObject | undefined = undefined>(
  spec: RouteSpec<B, Q>,
): Route {
  return spec as Route;
}

/** RouteMatch is a route and the path parameters it captured. */
export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/**
 * matchPath finds the routes whose path template matches `path`; the caller picks by method
 * (405 when the path matches and the method does not). Parameters match one non-empty segment.
 */
export function matchPath(routes: readonly Route[], path: string): RouteMatch[] {
  const segments = path.split('/');
  const matches: RouteMatch[] = [];
  for (const candidate of routes) {
    const template = candidate.path.split('/');
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < template.length && ok; i++) {
      const part = template[i];
      if (part.startsWith('{') && part.endsWith('}')) {
        if (segments[i] === '') ok = false;
        else params[part.slice(1, -1)] = segments[i];
      } else if (part !== segments[i]) {
        ok = false;
      }
    }
    if (ok) matches.push({ route: candidate, params });
  }
  return matches;
}
