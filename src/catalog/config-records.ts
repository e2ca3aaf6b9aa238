/**
 * configRecords turns the `[[apps]]` of ricochet.toml into catalog records, and applyConfig
 * reconciles the catalog with them: config apps and machines are created, updated or removed;
 * apps and machines created through the API are left alone.
 */
import type { AppConfig, NodeConfig } from '../config/types.ts';
import type { Catalog } from './catalog.ts';
import type { App, Machine, MachineConfig } from './types.ts';

export interface ConfigRecords {
  apps: App[];
  machines: Machine[];
}

export function configRecords(config: NodeConfig, nowIso: string): ConfigRecords {
  const apps: App[] = [];
  const machines: Machine[] = [];
  for (const appConfig of config.apps) {
    apps.push({
      name: appConfig.name,
      id: appConfig.name,
      org: appConfig.org,
      network: appConfig.network,
      hostnames: [...appConfig.hostnames],
      public: appConfig.public,
      primary_region: appConfig.primary_region,
      created_at: nowIso,
      origin: 'config',
    });
    for (const group of appConfig.machines) {
      for (const id of group.ids) {
        machines.push({
          id,
          app: appConfig.name,
          name: `${appConfig.name}-${id.slice(0, 6)}`,
          region: group.region,
          state: 'created',
          instance_id: '',
          config: machineConfigFor(appConfig, group),
          cordoned: false,
          created_at: nowIso,
          updated_at: nowIso,
          events: [],
          checks: [],
          runtime: null,
          origin: 'config',
          lease: null,
        });
      }
    }
  }
  return { apps, machines };
}

function machineConfigFor(app: AppConfig, group: AppConfig['machines'][number]): MachineConfig {
  const base = app.machine_config;
  if (group.address !== null) {
    return { ...base, init: {}, ricochet: { driver: 'static', address: group.address } };
  }
  return {
    ...base,
    init: { exec: group.cmd ?? [] },
    ricochet: { driver: 'process', cwd: group.cwd ?? undefined },
  };
}

export interface ConfigChanges {
  /** Machines that are new, or whose config or region changed: (re)start them. */
  changed: string[];
  /** Machines that left the config: stop and forget them. */
  removed: Machine[];
  /** Config apps that left the config (deleted once their machines are gone). */
  removedApps: string[];
}

/** applyConfig writes the config's records into the catalog and says which machines need work. */
export function applyConfig(catalog: Catalog, records: ConfigRecords): ConfigChanges {
  const changes: ConfigChanges = { changed: [], removed: [], removedApps: [] };
  const wantedApps = new Set(records.apps.map((a) => a.name));
  const wantedMachines = new Set(records.machines.map((m) => m.id));
  catalog.transaction(() => {
    for (const app of records.apps) {
      const existing = catalog.app(app.name);
      catalog.putApp(existing === undefined ? app : { ...app, created_at: existing.created_at, id: existing.id });
    }
    for (const machine of records.machines) {
      const existing = catalog.get(machine.id);
      if (existing === undefined || existing.state === 'destroyed') {
        catalog.putMachine(machine);
        changes.changed.push(machine.id);
        continue;
      }
      if (JSON.stringify(existing.config) === JSON.stringify(machine.config) && existing.region === machine.region) continue;
      catalog.putMachine({ ...existing, config: machine.config, region: machine.region, origin: 'config' });
      changes.changed.push(machine.id);
    }
    for (const machine of catalog.machines()) {
      if (machine.origin === 'config' && !wantedMachines.has(machine.id)) changes.removed.push(machine);
    }
    for (const app of catalog.apps()) {
      if (app.origin === 'config' && !wantedApps.has(app.name)) changes.removedApps.push(app.name);
    }
  });
  return changes;
}
