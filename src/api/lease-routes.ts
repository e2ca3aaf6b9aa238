/**
 * The lease and metadata routes (spec §14). A lease is acquired, refreshed (acquire again with
 * the nonce), read and released; metadata keys are read, set and deleted. Metadata lives in
 * `config.metadata`; changing it neither restarts the machine nor changes its instance_id.
 */
import { findMachine } from './lookups.ts';
import { acquireLease, activeLease, leaseBody, LEASE_NONCE_HEADER, releaseLease } from './leases.ts';
import { leasedMachine } from './machine-routes.ts';
import { route, type ApiRequest, type Route } from './route.ts';
import { ApiError } from './api-error.ts';
import { acquireLeaseSchema, LEASE_TTL_DEFAULT_SECONDS, leaseQuery, leaseSchema, METADATA_KEY_RULE, metadataKeySchema, metadataSchema, okSchema, setMetadataSchema } from './schemas.ts';
import { validationError } from './validate-input.ts';

const EXAMPLE = { app: 'tenant-42', id: '3d8d413b29d089' };
const NONCE_EXAMPLE = { [LEASE_NONCE_HEADER]: 'e23fb8ae5cb1' };

function nonceOf(req: Pick<ApiRequest<unknown, unknown>, 'headers'>): string | undefined {
  const header = req.headers[LEASE_NONCE_HEADER];
  return Array.isArray(header) ? header[0] : header;
}

export const leaseRoutes: Route[] = [
  route({
    method: 'POST',
    path: '/v1/apps/{app}/machines/{id}/lease',
    operationId: 'Machines_create_lease',
    tag: 'Leases',
    summary: 'Acquire or refresh a lease',
    description: `A new lease when the machine has none; with the current nonce in \`${LEASE_NONCE_HEADER}\`, the same lease with a new expiry. While a lease is live, every change to the machine needs the nonce.`,
    body: acquireLeaseSchema,
    query: leaseQuery,
    ok: { status: 200, description: 'The lease.', schema: leaseSchema },
    errors: ['not_found', 'lease_conflict', 'state_conflict', 'validation_failed'],
    example: { params: EXAMPLE, body: { ttl: 60, description: 'deploying' } },
    handler: (req, { deps }) => {
      const machine = findMachine(deps.catalog, req.params.app, req.params.id);
      if (machine.state === 'destroyed') throw new ApiError('state_conflict', `Cannot lease machine "${machine.id}": it is destroyed`);
      const ttlSeconds = req.body.ttl ?? (req.query.ttl === undefined ? LEASE_TTL_DEFAULT_SECONDS : Number(req.query.ttl));
      const lease = acquireLease(machine, { ttlSeconds, description: req.body.description, nonce: nonceOf(req) }, deps.now());
      deps.catalog.update(machine.id, { lease });
      return { status: 200, body: leaseBody(lease) };
    },
  }),
  route({
    method: 'GET',
    path: '/v1/apps/{app}/machines/{id}/lease',
    operationId: 'Machines_show_lease',
    tag: 'Leases',
    summary: 'Get the live lease',
    ok: { status: 200, description: 'The lease.', schema: leaseSchema },
    errors: ['not_found'],
    example: { params: EXAMPLE },
    handler: ({ params }, { deps }) => {
      const machine = findMachine(deps.catalog, params.app, params.id);
      const lease = activeLease(machine, deps.now());
      if (lease === null) throw new ApiError('not_found', `Machine "${machine.id}" has no lease`);
      return { status: 200, body: leaseBody(lease) };
    },
  }),
  route({
    method: 'DELETE',
    path: '/v1/apps/{app}/machines/{id}/lease',
    operationId: 'Machines_release_lease',
    tag: 'Leases',
    summary: 'Release the lease',
    description: `Needs the nonce in \`${LEASE_NONCE_HEADER}\`.`,
    ok: { status: 200, description: 'The lease is released.', schema: okSchema },
    errors: ['not_found', 'lease_conflict'],
    example: { params: EXAMPLE, headers: NONCE_EXAMPLE },
    handler: (req, { deps }) => {
      const machine = findMachine(deps.catalog, req.params.app, req.params.id);
      releaseLease(machine, nonceOf(req), deps.now());
      deps.catalog.update(machine.id, { lease: null });
      return { status: 200, body: { ok: true } };
    },
  }),
  route({
    method: 'GET',
    path: '/v1/apps/{app}/machines/{id}/metadata',
    operationId: 'Machines_list_metadata',
    tag: 'Metadata',
    summary: 'Get the machine\'s metadata',
    ok: { status: 200, description: 'config.metadata.', schema: metadataSchema },
    errors: ['not_found'],
    example: { params: EXAMPLE },
    handler: ({ params }, { deps }) => ({ status: 200, body: { ...findMachine(deps.catalog, params.app, params.id).config.metadata } }),
  }),
  route({
    method: 'POST',
    path: '/v1/apps/{app}/machines/{id}/metadata/{key}',
    operationId: 'Machines_upsert_metadata',
    tag: 'Metadata',
    summary: 'Set a metadata key',
    body: setMetadataSchema,
    bodyRequired: true,
    ok: { status: 204, description: 'The key is set.' },
    errors: ['not_found', 'lease_conflict', 'state_conflict', 'validation_failed'],
    example: { params: { ...EXAMPLE, key: 'tenant' }, body: { value: '42' } },
    handler: (req, { deps }) => setMetadata(req, deps, req.body.value),
  }),
  route({
    method: 'DELETE',
    path: '/v1/apps/{app}/machines/{id}/metadata/{key}',
    operationId: 'Machines_delete_metadata',
    tag: 'Metadata',
    summary: 'Delete a metadata key',
    ok: { status: 204, description: 'The key is gone (or was never there).' },
    errors: ['not_found', 'lease_conflict', 'state_conflict'],
    example: { params: { ...EXAMPLE, key: 'tenant' } },
    handler: (req, { deps }) => setMetadata(req, deps, null),
  }),
];

function setMetadata(
  req: Pick<ApiRequest<unknown, unknown>, 'params' | 'headers'>,
  deps: Parameters<Route['handler']>[1]['deps'],
  value: string | null,
): { status: number } {
  const key = req.params.key;
  if (!metadataKeySchema.safeParse(key).success) throw validationError('query', [{ path: 'key', rule: METADATA_KEY_RULE }]);
  const machine = leasedMachine(req, deps.catalog, deps.now());
  if (machine.state === 'destroyed') throw new ApiError('state_conflict', `Cannot change machine "${machine.id}": it is destroyed`);
  const metadata = { ...machine.config.metadata };
  if (value === null) delete metadata[key];
  else metadata[key] = value;
  deps.catalog.update(machine.id, { config: { ...machine.config, metadata } });
  return { status: 204 };
}
