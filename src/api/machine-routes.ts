/**
 * The machines routes (spec §14): create, list, get, update (the full config) and destroy.
 * Writes that change a leased machine need its nonce (leases.ts).
 */
import type { Machine } from '../catalog/types.ts';
import { findApp, findMachine, isTrue } from './lookups.ts';
import { checkLease, LEASE_NONCE_HEADER } from './leases.ts';
import { machineObject } from './machine-object.ts';
import { route, type ApiRequest, type Route } from './route.ts';
import { createMachineSchema, deleteQuery, listMachinesQuery, machineListSchema, machineSchema, okSchema, updateMachineSchema } from './schemas.ts';

const EXAMPLE_ID = '3d8d413b29d089';
/** EXAMPLE_CONFIG is the config the docs' curl examples send: one HTTP service on port 80. */
const EXAMPLE_CONFIG = {
  init: { exec: ['node', 'server.js'] },
  env: { TENANT: '42' },
  services: [{ protocol: 'tcp', internal_port: 8080, ports: [{ port: 80, handlers: ['http'] }], autostop: 'stop', autostart: true }],
  ricochet: { driver: 'process', cwd: '/srv/tenant' },
};

const METADATA_FILTER_PREFIX = 'metadata.';

export const machineRoutes: Route[] = [
  route({
    method: 'POST',
    path: '/v1/apps/{app}/machines',
    operationId: 'Machines_create',
    tag: 'Machines',
    summary: 'Create a machine (and start it unless skip_launch)',
    description:
      'Answers at once with the machine in state `created`; it starts in the background. `GET …/wait?state=started` answers once it accepts connections, and from then on requests are routed to it.',
    body: createMachineSchema,
    bodyRequired: true,
    ok: { status: 200, description: 'The new machine.', schema: machineSchema },
    errors: ['not_found', 'already_exists', 'validation_failed'],
    example: { params: { app: 'tenant-42' }, body: { region: 'iad', config: EXAMPLE_CONFIG } },
    handler: ({ params, body }, { deps, lifecycle }) => {
      const app = findApp(deps.catalog, params.app);
      const { machine, nonce } = lifecycle.create(app, body);
      return { status: 200, body: machineObject(machine, { nonce }) };
    },
  }),
  route({
    method: 'GET',
    path: '/v1/apps/{app}/machines',
    operationId: 'Machines_list',
    tag: 'Machines',
    summary: 'List machines',
    query: listMachinesQuery,
    ok: { status: 200, description: 'The app\'s machines, oldest first.', schema: machineListSchema },
    errors: ['not_found'],
    example: { params: { app: 'tenant-42' }, query: 'region=iad&metadata.tenant=42' },
    handler: ({ params, query, search }, { deps }) => {
      findApp(deps.catalog, params.app);
      const metadata = [...search].filter(([key]) => key.startsWith(METADATA_FILTER_PREFIX));
      const machines = deps.catalog
        .machines(params.app)
        .filter((m) => isTrue(query.include_deleted) || m.state !== 'destroyed')
        .filter((m) => query.region === undefined || m.region === query.region)
        .filter((m) => metadata.every(([key, value]) => m.config.metadata[key.slice(METADATA_FILTER_PREFIX.length)] === value))
        .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
      return { status: 200, body: machines.map((m) => machineObject(m)) };
    },
  }),
  route({
    method: 'GET',
    path: '/v1/apps/{app}/machines/{id}',
    operationId: 'Machines_show',
    tag: 'Machines',
    summary: 'Get a machine',
    ok: { status: 200, description: 'The machine.', schema: machineSchema },
    errors: ['not_found'],
    example: { params: { app: 'tenant-42', id: EXAMPLE_ID } },
    handler: ({ params }, { deps }) => ({ status: 200, body: machineObject(findMachine(deps.catalog, params.app, params.id)) }),
  }),
  route({
    method: 'POST',
    path: '/v1/apps/{app}/machines/{id}',
    operationId: 'Machines_update',
    tag: 'Machines',
    summary: 'Update a machine (the full config)',
    description:
      'Replaces the whole config (no partial updates) and gives the machine a new `instance_id`. A started machine restarts with the new config; a stopped one starts unless `skip_launch`. `name` and `region` are immutable.',
    body: updateMachineSchema,
    bodyRequired: true,
    ok: { status: 200, description: 'The updated machine.', schema: machineSchema },
    errors: ['not_found', 'state_conflict', 'lease_conflict', 'config_owned', 'validation_failed'],
    example: { params: { app: 'tenant-42', id: EXAMPLE_ID }, body: { config: { ...EXAMPLE_CONFIG, env: { TENANT: '42', PLAN: 'pro' } } } },
    handler: (req, { deps, lifecycle }) => {
      const machine = leasedMachine(req, deps.catalog, deps.now());
      return { status: 200, body: machineObject(lifecycle.update(machine, req.body)) };
    },
  }),
  route({
    method: 'DELETE',
    path: '/v1/apps/{app}/machines/{id}',
    operationId: 'Machines_delete',
    tag: 'Machines',
    summary: 'Destroy a machine',
    description: 'Refused (409) while the machine runs, unless `force=true` (fly-go: `kill=true`), which stops it first.',
    query: deleteQuery,
    ok: { status: 200, description: 'The machine is destroying or destroyed.', schema: okSchema },
    errors: ['not_found', 'state_conflict', 'lease_conflict', 'config_owned'],
    example: { params: { app: 'tenant-42', id: EXAMPLE_ID }, query: 'force=true' },
    handler: async (req, { deps, lifecycle }) => {
      const machine = leasedMachine(req, deps.catalog, deps.now());
      await lifecycle.destroy(machine, isTrue(req.query.force) || isTrue(req.query.kill));
      return { status: 200, body: { ok: true } };
    },
  }),
];

/** leasedMachine finds the path's machine and checks the caller may change it (spec §14 leases). */
export function leasedMachine(
  req: Pick<ApiRequest<unknown, unknown>, 'params' | 'headers'>,
  catalog: Parameters<typeof findMachine>[0],
  nowMs: number,
): Machine {
  const machine = findMachine(catalog, req.params.app, req.params.id);
  const header = req.headers[LEASE_NONCE_HEADER];
  checkLease(machine, Array.isArray(header) ? header[0] : header, nowMs);
  return machine;
}
