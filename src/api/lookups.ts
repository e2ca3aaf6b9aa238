/**
 * Lookups that answer `not_found` (404): the app or machine a path names. A machine id that
 * isn't 14 hex characters, or a machine of another app, is simply not found.
 */
import type { Catalog } from '../catalog/catalog.ts';
import { MACHINE_ID_PATTERN, type App, type Machine } from '../catalog/types.ts';
import { ApiError } from './api-error.ts';

export function findApp(catalog: Catalog, name: string): App {
  const app = catalog.app(name);
  if (app === undefined) throw new ApiError('not_found', `App "${name}" does not exist`);
  return app;
}

export function findMachine(catalog: Catalog, appName: string, id: string): Machine {
  findApp(catalog, appName);
  const machine = MACHINE_ID_PATTERN.test(id) ? catalog.get(id) : undefined;
  if (machine === undefined || machine.app !== appName) {
    throw new ApiError('not_found', `Machine "${id}" does not exist in app "${appName}"`);
  }
  return machine;
}

/** isTrue reads a boolean query value ("true"/"1"). */
export function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}
