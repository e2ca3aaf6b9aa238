/**
 * The machine action routes (spec §14): start, stop, suspend, wait, cordon and uncordon.
 * Actions answer once they have begun; `/wait` answers once the machine is where the caller
 * wants it (408 past the timeout).
 */
import { MACHINE_EVENTS_KEPT } from '../catalog/catalog.ts';
import type { Machine } from '../catalog/types.ts';
import { parseDurationMs } from '../replay/duration.ts';
import { ApiError } from './api-error.ts';
import { findMachine } from './lookups.ts';
import { leasedMachine } from './machine-routes.ts';
import { route, type Route } from './route.ts';
import { okSchema, startResultSchema, stopMachineSchema, WAIT_TIMEOUT_MAX_SECONDS, waitQuery, type WAIT_STATES } from './schemas.ts';

const EXAMPLE = { app: 'tenant-42', id: '3d8d413b29d089' };
type WaitState = (typeof WAIT_STATES)[number];

export const actionRoutes: Route[] = [
  route({
    method: 'POST',
    path: '/v1/apps/{app}/machines/{id}/start',
    operationId: 'Machines_start',
    tag: 'Machine actions',
    summary: 'Start a machine',
    description: 'Starts a stopped, created or failed machine; resumes a suspended one. Then `wait?state=started`.',
    ok: { status: 200, description: 'The start has begun.', schema: startResultSchema },
    errors: ['not_found', 'state_conflict', 'lease_conflict'],
    example: { params: EXAMPLE },
    handler: async (req, { deps, lifecycle }) => {
      const machine = leasedMachine(req, deps.catalog, deps.now());
      await lifecycle.act(machine, 'start');
      return { status: 200, body: { previous_state: machine.state, migrated: false, new_host: '' } };
    },
  }),
  route({
    method: 'POST',
    path: '/v1/apps/{app}/machines/{id}/stop',
    operationId: 'Machines_stop',
    tag: 'Machine actions',
    summary: 'Stop a machine',
    description:
      'Sends `signal` (default: the config\'s `stop_config.signal`, else SIGINT), then SIGKILL after `timeout`. The machine leaves routing at once; a request to an app whose service has `autostart` wakes it again. Stopping a suspended machine discards it.',
    body: stopMachineSchema,
    ok: { status: 200, description: 'The stop has begun.', schema: okSchema },
    errors: ['not_found', 'state_conflict', 'lease_conflict', 'validation_failed'],
    example: { params: EXAMPLE, body: { signal: 'SIGTERM', timeout: '10s' } },
    handler: async (req, { deps, lifecycle }) => {
      const machine = leasedMachine(req, deps.catalog, deps.now());
      const { signal, timeout } = req.body;
      await lifecycle.act(machine, 'stop', { signal, timeoutMs: timeout === undefined ? undefined : parseDurationMs(timeout) });
      return { status: 200, body: { ok: true } };
    },
  }),
  route({
    method: 'POST',
    path: '/v1/apps/{app}/machines/{id}/suspend',
    operationId: 'Machines_suspend',
    tag: 'Machine actions',
    summary: 'Suspend a machine',
    description: 'Freezes a started machine (SIGSTOP for the process driver; the static driver stops instead). A request wakes it like a stopped one.',
    ok: { status: 200, description: 'The suspend has begun.', schema: okSchema },
    errors: ['not_found', 'state_conflict', 'lease_conflict'],
    example: { params: EXAMPLE },
    handler: async (req, { deps, lifecycle }) => {
      await lifecycle.act(leasedMachine(req, deps.catalog, deps.now()), 'suspend');
      return { status: 200, body: { ok: true } };
    },
  }),
  route({
    method: 'GET',
    path: '/v1/apps/{app}/machines/{id}/wait',
    operationId: 'Machines_wait',
    tag: 'Machine actions',
    summary: 'Wait for a machine to reach a state',
    description:
      'Answers 200 once the machine is in `state` (any of them, if repeated), 408 after `timeout` seconds. A started machine is routable when this answers. With `instance_id`, "stopped" also holds once the machine runs a newer version (it was updated).',
    query: waitQuery,
    ok: { status: 200, description: 'The machine is in the state.', schema: okSchema },
    errors: ['not_found', 'wait_timeout', 'too_many_waits', 'invalid_request'],
    example: { params: EXAMPLE, query: 'state=started&timeout=30' },
    handler: async ({ params, query, signal }, { deps, waits }) => {
      const first = findMachine(deps.catalog, params.app, params.id);
      const states = new Set<WaitState>(Array.isArray(query.state) ? query.state : [query.state]);
      const instance = query.instance_id ?? query.version;
      const timeoutS = query.timeout === undefined ? WAIT_TIMEOUT_MAX_SECONDS : Number(query.timeout);
      const predicate = (machine: Machine | undefined): boolean => reached(machine ?? { ...first, state: 'destroyed' }, states, instance);
      const outcome = await waits.wait(first.id, predicate, timeoutS * 1000, signal);
      if (outcome === 'timeout') {
        throw new ApiError('wait_timeout', `Machine "${first.id}" did not reach ${[...states].join(' or ')} within ${timeoutS} s`);
      }
      if (outcome === 'closed') throw new ApiError('unavailable');
      return { status: 200, body: { ok: true } };
    },
  }),
  route({
    method: 'POST',
    path: '/v1/apps/{app}/machines/{id}/cordon',
    operationId: 'Machines_cordon',
    tag: 'Machine actions',
    summary: 'Take a machine out of routing',
    description: 'A cordoned machine gets no proxy traffic and is never woken or stopped by the proxy; it keeps running.',
    ok: { status: 200, description: 'The machine is cordoned.', schema: okSchema },
    errors: ['not_found', 'state_conflict', 'lease_conflict'],
    example: { params: EXAMPLE },
    handler: (req, { deps }) => setCordoned(req, deps, true),
  }),
  route({
    method: 'POST',
    path: '/v1/apps/{app}/machines/{id}/uncordon',
    operationId: 'Machines_uncordon',
    tag: 'Machine actions',
    summary: 'Return a machine to routing',
    ok: { status: 200, description: 'The machine is routable again.', schema: okSchema },
    errors: ['not_found', 'state_conflict', 'lease_conflict'],
    example: { params: EXAMPLE },
    handler: (req, { deps }) => setCordoned(req, deps, false),
  }),
];

/** reached says whether a machine is in one of the wanted states (an older instance counts as stopped). */
function reached(machine: Machine, states: ReadonlySet<WaitState>, instance: string | undefined): boolean {
  if (instance !== undefined && machine.instance_id !== instance) {
    return states.has('stopped') || (states.has('destroyed') && machine.state === 'destroyed');
  }
  return states.has(machine.state as WaitState);
}

function setCordoned(
  req: Parameters<typeof leasedMachine>[0],
  deps: Parameters<Route['handler']>[1]['deps'],
  cordoned: boolean,
): { status: number; body: unknown } {
  const machine = leasedMachine(req, deps.catalog, deps.now());
  if (machine.state === 'destroyed') throw new ApiError('state_conflict', `Cannot cordon machine "${machine.id}": it is destroyed`);
  if (machine.cordoned !== cordoned) {
    deps.catalog.update(machine.id, {
      cordoned,
      events: [{ type: cordoned ? 'cordon' : 'uncordon', status: machine.state, source: 'user' as const, timestamp: deps.now() }, ...machine.events].slice(0, MACHINE_EVENTS_KEPT),
    });
  }
  return { status: 200, body: { ok: true } };
}
