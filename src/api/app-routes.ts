/**
 * The apps routes (spec §14): create, list, get and delete apps. Apps created here have origin
 * `api`: a config reload never touches them, and the API never deletes an app of ricochet.toml.
 */
import type { Catalog } from '../catalog/catalog.ts';
import type { App } from '../catalog/types.ts';
import { FLY_REGION_CODE_PATTERN } from '../config/schema.ts';
import { ApiError } from './api-error.ts';
import { findApp, isTrue } from './lookups.ts';
import { route, type Route } from './route.ts';
import { appCreatedSchema, appListSchema, appSchema, createAppSchema, deleteQuery, listAppsQuery, okSchema } from './schemas.ts';
import { validationError } from './validate-input.ts';

export const appRoutes: Route[] = [
  route({
    method: 'POST',
    path: '/v1/apps',
    operationId: 'Apps_create',
    tag: 'Apps',
    summary: 'Create an app',
    description: 'The app answers at `<app_name>.<base_domain>` and at its `ricochet.hostnames` once it has a started machine.',
    body: createAppSchema,
    bodyRequired: true,
    ok: { status: 201, description: 'The app was created.', schema: appCreatedSchema },
    errors: ['already_exists', 'validation_failed'],
    example: { body: { app_name: 'tenant-42', org_slug: 'personal' } },
    handler: ({ body }, { deps }) => {
      const { catalog } = deps;
      const config = deps.config();
      if (catalog.app(body.app_name) !== undefined) throw new ApiError('already_exists', `App "${body.app_name}" already exists`);
      const primary = body.ricochet.primary_region ?? config.region;
      if (!FLY_REGION_CODE_PATTERN.test(primary) && !Object.hasOwn(config.regions, primary)) {
        throw validationError('body', [{ path: 'ricochet.primary_region', rule: 'is not a region code (3 lowercase letters or a region in [regions])' }]);
      }
      checkHostnamesFree(catalog, body.ricochet.hostnames, config.base_domain);
      const nowMs = deps.now();
      const app = catalog.putApp({
        name: body.app_name,
        id: body.app_name,
        org: body.org_slug,
        network: body.network ?? 'default',
        hostnames: [...new Set(body.ricochet.hostnames)],
        public: body.ricochet.public,
        primary_region: primary,
        created_at: new Date(nowMs).toISOString(),
        origin: 'api',
      });
      return { status: 201, body: { id: app.id, name: app.name, created_at: nowMs } };
    },
  }),
  route({
    method: 'GET',
    path: '/v1/apps',
    operationId: 'Apps_list',
    tag: 'Apps',
    summary: 'List apps',
    query: listAppsQuery,
    ok: { status: 200, description: 'The apps, by name.', schema: appListSchema },
    errors: [],
    example: { query: 'org_slug=personal' },
    handler: ({ query }, { deps }) => {
      const apps = deps.catalog
        .apps()
        .filter((app) => query.org_slug === undefined || app.org === query.org_slug)
        .sort((a, b) => a.name.localeCompare(b.name));
      return {
        status: 200,
        body: {
          total_apps: apps.length,
          apps: apps.map((app) => ({
            id: app.id,
            name: app.name,
            machine_count: liveMachines(deps.catalog, app).length,
            volume_count: 0,
            network: app.network,
          })),
        },
      };
    },
  }),
  route({
    method: 'GET',
    path: '/v1/apps/{app}',
    operationId: 'Apps_show',
    tag: 'Apps',
    summary: 'Get an app',
    ok: { status: 200, description: 'The app.', schema: appSchema },
    errors: ['not_found'],
    example: { params: { app: 'tenant-42' } },
    handler: ({ params }, { deps }) => ({ status: 200, body: appBody(deps.catalog, findApp(deps.catalog, params.app)) }),
  }),
  route({
    method: 'DELETE',
    path: '/v1/apps/{app}',
    operationId: 'Apps_delete',
    tag: 'Apps',
    summary: 'Delete an app and destroy its machines',
    description: 'Refused (409) while a machine runs, unless `force=true`, which stops them first. Its replay cache entries go too.',
    query: deleteQuery,
    ok: { status: 202, description: 'The app and its machines are gone.', schema: okSchema },
    errors: ['not_found', 'state_conflict', 'config_owned'],
    example: { params: { app: 'tenant-42' }, query: 'force=true' },
    handler: async ({ params, query }, { deps, lifecycle }) => {
      const app = findApp(deps.catalog, params.app);
      await lifecycle.destroyApp(app, isTrue(query.force) || isTrue(query.kill));
      return { status: 202, body: { ok: true } };
    },
  }),
];

function liveMachines(catalog: Catalog, app: App) {
  return catalog.machines(app.name).filter((m) => m.state !== 'destroyed');
}

/** appBody is Fly's app object, plus the app's Ricochet settings under `ricochet`. */
function appBody(catalog: Catalog, app: App) {
  const machines = liveMachines(catalog, app);
  return {
    id: app.id,
    name: app.name,
    status: machines.some((m) => m.state === 'started') ? 'deployed' : 'pending',
    organization: { name: app.org, slug: app.org },
    network: app.network,
    machine_count: machines.length,
    ricochet: { hostnames: [...app.hostnames], primary_region: app.primary_region, public: app.public !== false, origin: app.origin },
  };
}

/** checkHostnamesFree refuses a hostname another app claims, exactly or as <app>.<base_domain>. */
function checkHostnamesFree(catalog: Catalog, hostnames: readonly string[], baseDomain: string): void {
  const owner = new Map<string, string>();
  for (const app of catalog.apps()) {
    owner.set(`${app.name}.${baseDomain}`, app.name);
    for (const host of app.hostnames) owner.set(host, app.name);
  }
  hostnames.forEach((host, index) => {
    const taken = owner.get(host);
    if (taken !== undefined) {
      throw new ApiError('already_exists', `Hostname "${host}" is already claimed by app "${taken}"`, {
        details: [{ path: `ricochet.hostnames[${index}]`, rule: `is already claimed by app "${taken}"` }],
      });
    }
  });
}
