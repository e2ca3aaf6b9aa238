/**
 * Machine leases (spec §14 `/lease`): a short-lived claim on a machine. While a lease is live,
 * every request that changes the machine must carry its nonce in `fly-machine-lease-nonce`;
 * the holder may refresh the lease by acquiring it again with the nonce. Pure: the machine, the
 * time and the random bits come in, a lease or an ApiError comes out. `expires_at` is unix
 * seconds, as Fly's; a lease past it is gone.
 */
import { randomBytes } from 'node:crypto';
import type { Machine, MachineLease } from '../catalog/types.ts';
import { ulid } from '../proxy/request-id.ts';
import { ApiError } from './api-error.ts';

/** LEASE_NONCE_HEADER carries the lease nonce on requests to a leased machine. */
export const LEASE_NONCE_HEADER = 'fly-machine-lease-nonce';
/** LEASE_OWNER is the owner recorded on leases: the API has one token, so one principal. [UNDOC] */
export const LEASE_OWNER = 'api';

/** activeLease is the machine's lease if it has not expired at `nowMs`. */
export function activeLease(machine: Machine, nowMs: number): MachineLease | null {
  const lease = machine.lease;
  if (lease === null || lease.expires_at * 1000 <= nowMs) return null;
  return lease;
}

/** checkLease throws `lease_conflict` when the machine is leased and `nonce` is not the lease's. */
export function checkLease(machine: Machine, nonce: string | undefined, nowMs: number): void {
  const lease = activeLease(machine, nowMs);
  if (lease === null || nonce === lease.nonce) return;
  throw new ApiError(
    'lease_conflict',
    `Machine "${machine.id}" is leased until ${new Date(lease.expires_at * 1000).toISOString()}; send the lease nonce in ${LEASE_NONCE_HEADER}`,
  );
}

export interface AcquireInput {
  ttlSeconds: number;
  description: string;
  /** The nonce the caller holds, to refresh its own lease. */
  nonce: string | undefined;
}

/**
 * acquireLease returns the machine's new lease: a fresh one when the machine has none (or it
 * expired), the same nonce with a later expiry when the caller holds it; `lease_conflict` when
 * someone else does.
 */
export function acquireLease(machine: Machine, input: AcquireInput, nowMs: number): MachineLease {
  const current = activeLease(machine, nowMs);
  const expires_at = Math.floor(nowMs / 1000) + input.ttlSeconds;
  if (current !== null) {
    if (input.nonce !== current.nonce) {
      throw new ApiError('lease_conflict', `Machine "${machine.id}" is already leased (until ${new Date(current.expires_at * 1000).toISOString()})`);
    }
    return { ...current, expires_at, description: input.description || current.description, version: ulid(nowMs) };
  }
  return { nonce: randomBytes(6).toString('hex'), expires_at, owner: LEASE_OWNER, description: input.description, version: ulid(nowMs) };
}

/** releaseLease checks that the caller holds the live lease; `not_found` when there is none. */
export function releaseLease(machine: Machine, nonce: string | undefined, nowMs: number): void {
  const current = activeLease(machine, nowMs);
  if (current === null) throw new ApiError('not_found', `Machine "${machine.id}" has no lease`);
  if (nonce !== current.nonce) {
    throw new ApiError('lease_conflict', `Releasing the lease of machine "${machine.id}" needs its nonce in ${LEASE_NONCE_HEADER}`);
  }
}

/** leaseBody is the lease as Fly answers it. */
export function leaseBody(lease: MachineLease): { status: 'success'; data: MachineLease } {
  return { status: 'success', data: { ...lease } };
}
