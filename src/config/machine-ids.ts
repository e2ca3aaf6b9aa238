/**
 * Machine ids for machines declared in ricochet.toml. A `[[apps.machines]]` group with `count`
 * gets ids derived from (app, group index, ordinal), so a restart or a reload gives every
 * machine the id it had before, and `fly-replay: instance=<id>` keeps pointing at it.
 */
import { createHash } from 'node:crypto';
import { MACHINE_ID_PATTERN } from '../catalog/types.ts';

/** MACHINE_ID_HEX_CHARS is the length of a Fly machine id (spec terms: 14 hex characters). */
export const MACHINE_ID_HEX_CHARS = 14;

/**
 * deriveMachineId returns a stable 14-hex machine id: the first 14 hex digits of
 * sha256("ricochet-machine\0<app>\0<group>\0<ordinal>"). Throws RangeError for an empty app
 * name or a group or ordinal that is not a non-negative integer.
 */
export function deriveMachineId(app: string, group: number, ordinal: number): string {
  if (typeof app !== 'string' || app === '') throw new RangeError('Cannot derive a machine id: app name is empty');
  for (const [name, value] of [['group', group], ['ordinal', ordinal]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot derive a machine id: ${name} ${value} is not a non-negative integer`);
    }
  }
  const id = createHash('sha256')
    .update(`ricochet-machine\0${app}\0${group}\0${ordinal}`)
    .digest('hex')
    .slice(0, MACHINE_ID_HEX_CHARS);
  // A hex digest prefix always matches; the check documents the contract with the catalog.
  if (!MACHINE_ID_PATTERN.test(id)) throw new Error(`derived machine id "${id}" is malformed`);
  return id;
}
