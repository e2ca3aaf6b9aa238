/**
 * buildAppConfig turns one `[[apps]]` entry into an AppConfig. The entry's own keys (name, org,
 * network, hostnames, fly_toml, machines) are Ricochet's; every other key is a fly.toml key. When
 * `fly_toml` names a file, that file is loaded unchanged and the entry's fly.toml keys are merged
 * over it (tables merge key by key, arrays and values replace), and each error or warning names
 * the file the offending key came from.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { AppConfig, ConfigWarning, MachineGroupConfig } from './types.ts';
import { convertFlyToml } from './fly-toml.ts';
import { patchFlyToml } from './fly-toml-patches.ts';
import { deriveMachineId } from './machine-ids.ts';
import { readToml } from './read-toml.ts';
import { APP_OWN_KEYS, appEntrySchema, REGION_MESSAGE } from './schema.ts';
import { invalidValue, isTable, type KeyPath, type Locate, prefixLocator, validateTable } from './validate-table.ts';

export interface AppContext {
  /** The ricochet.toml as messages name it. */
  file: string;
  /** Absolute directory of the ricochet.toml; relative paths resolve against it. */
  baseDir: string;
  /** The node's region: the default primary region. */
  region: string;
  /** isRegion is true for a Fly region code or a region listed in [regions]. */
  isRegion: (code: string) => boolean;
}

export interface BuiltApp {
  app: AppConfig;
  warnings: ConfigWarning[];
}

export function buildAppConfig(entry: Record<string, unknown>, index: number, context: AppContext): BuiltApp {
  const ownKeys: Record<string, unknown> = {};
  const flyKeys: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) {
    if ((APP_OWN_KEYS as readonly string[]).includes(key)) ownKeys[key] = value;
    else flyKeys[key] = value;
  }
  const appLocate = prefixLocator(context.file, ['apps', index]);
  const { data: own, warnings } = validateTable(appEntrySchema, ownKeys, appLocate);

  let base: Record<string, unknown> = {};
  let flyDir: string | null = null;
  let locate: Locate = appLocate;
  const override = patchFlyToml(flyKeys);
  if (own.fly_toml !== undefined) {
    const path = resolve(context.baseDir, own.fly_toml);
    const flyFile = isAbsolute(own.fly_toml) ? own.fly_toml : join(dirname(context.file), own.fly_toml);
    base = patchFlyToml(readToml(path, flyFile, appLocate(['fly_toml'])));
    flyDir = dirname(path);
    locate = sourceLocator(override, appLocate, prefixLocator(flyFile));
  }
  const fly = convertFlyToml(deepMerge(base, override), locate);
  warnings.push(...fly.warnings);

  const name = own.name ?? fly.appName;
  if (name === null) {
    throw invalidValue(appLocate(['name']), undefined, 'is required (set name here, or app in the fly.toml)');
  }
  const primaryRegion = fly.primaryRegion ?? context.region;
  if (!context.isRegion(primaryRegion)) throw invalidValue(locate(['primary_region']), primaryRegion, REGION_MESSAGE);

  // flyctl sets PRIMARY_REGION when primary_region is set; Ricochet always knows the primary
  // region, so it sets it unless [env] does and the fly.toml has no primary_region. [UNDOC]
  const env = { ...fly.config.env };
  if (env.PRIMARY_REGION === undefined) env.PRIMARY_REGION = primaryRegion;

  const machines = own.machines.map((group, g): MachineGroupConfig => {
    if (group.region !== undefined && !context.isRegion(group.region)) {
      throw invalidValue(appLocate(['machines', g, 'region']), group.region, REGION_MESSAGE);
    }
    const cmd = group.cmd === undefined ? null : typeof group.cmd === 'string' ? group.cmd.trim().split(/\s+/) : [...group.cmd];
    return {
      ids: group.id !== undefined ? [group.id] : Array.from({ length: group.count ?? 1 }, (_, k) => deriveMachineId(name, g, k)),
      region: group.region ?? primaryRegion,
      cmd,
      cwd: cmd === null ? null : resolve(context.baseDir, group.cwd ?? flyDir ?? '.'),
      address: group.address ?? null,
    };
  });

  return {
    app: {
      name,
      org: own.org,
      network: own.network,
      hostnames: [...new Set(own.hostnames)],
      public: own.public,
      primary_region: primaryRegion,
      machine_config: { ...fly.config, env, init: {}, ricochet: { driver: 'process' } },
      machines,
    },
    warnings,
  };
}

function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isTable(current) && isTable(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/** sourceLocator sends a path to the override when the override set it, else to the base file. */
function sourceLocator(override: Record<string, unknown>, overrideLocate: Locate, baseLocate: Locate): Locate {
  return (path) => (overrideOwns(override, path) ? overrideLocate(path) : baseLocate(path));
}

function overrideOwns(override: unknown, path: KeyPath): boolean {
  let node = override;
  for (const part of path) {
    // An array or a value set in the override replaced the base's whole subtree.
    if (!isTable(node)) return true;
    if (!Object.hasOwn(node, part)) return false;
    node = node[part];
  }
  return true;
}
