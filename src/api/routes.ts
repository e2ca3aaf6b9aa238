/**
 * ROUTES is the Machines API's route table (spec §14, plus the replay cache routes and the
 * OpenAPI document). The server dispatches through it, and the OpenAPI document and
 * docs/api.md are generated from it.
 */
import { readFileSync } from 'node:fs';
import { actionRoutes } from './action-routes.ts';
import { appRoutes } from './app-routes.ts';
import { cacheRoutes } from './cache-routes.ts';
import { leaseRoutes } from './lease-routes.ts';
import { machineRoutes } from './machine-routes.ts';
import { openApiDocument } from './openapi.ts';
import { route, type Route } from './route.ts';

const openApiRoute: Route = route({
  method: 'GET',
  path: '/v1/openapi.json',
  operationId: 'OpenApi_show',
  tag: 'Meta',
  summary: 'This API\'s OpenAPI 3.1 document',
  description: 'Served without a token: it holds no data, only the API\'s shape.',
  public: true,
  ok: { status: 200, description: 'The OpenAPI document.' },
  errors: [],
  example: {},
  handler: () => ({ status: 200, body: apiDocument() }),
});

export const ROUTES: readonly Route[] = [...appRoutes, ...machineRoutes, ...actionRoutes, ...leaseRoutes, ...cacheRoutes, openApiRoute];

let cached: Record<string, unknown> | null = null;

/** apiDocument is the OpenAPI document of ROUTES, built once. */
export function apiDocument(): Record<string, unknown> {
  cached ??= openApiDocument(ROUTES, { version: packageVersion() });
  return cached;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
