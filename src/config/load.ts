/**
 * loadConfig reads `ricochet.toml` (and the fly.toml files its apps name) into a validated,
 * deep-frozen NodeConfig. Every key is optional (`schema.ts` has the table of keys and defaults);
 * an unknown key is a warning; a bad value is a ConfigError naming the file, the key path, the
 * value and what is allowed. Cross-references are checked once everything is read: duplicate
 * app names, duplicate machine ids, hostnames claimed by two apps, regions that aren't known.
 */
import { dirname, resolve } from 'node:path';
import { buildAppConfig } from './app-config.ts';
import { ConfigError } from './config-error.ts';
import { parseToml, readToml } from './read-toml.ts';
import { FLY_REGION_CODE_PATTERN, nodeSchema, REGION_MESSAGE } from './schema.ts';
import type { AppConfig, ConfigWarning, NodeConfig } from './types.ts';
import { formatKeyPath, invalidValue, prefixLocator, warningAt, validateTable } from './validate-table.ts';

export { ConfigError } from './config-error.ts';
export type { ConfigErrorCode } from './config-error.ts';
export { deriveMachineId } from './machine-ids.ts';
export { flyTomlToMachineConfig } from './fly-toml.ts';
export { machineConfigSchema } from './machine-config-schema.ts';

/** API_TOKEN_ENV is the environment variable that supplies `[api] token` when the file has none. */
export const API_TOKEN_ENV = 'RICOCHET_API_TOKEN';

export interface LoadOptions {
  /** Environment to read RICOCHET_API_TOKEN from; defaults to process.env. */
  env?: Record<string, string | undefined>;
}

export interface LoadedConfig {
  config: NodeConfig;
  warnings: ConfigWarning[];
}

/** loadConfig loads the file at `path`, or the built-in defaults when `path` is null. */
export function loadConfig(path: string | null, options: LoadOptions = {}): LoadedConfig {
  if (path === null) return buildConfig({}, null, options);
  return buildConfig(readToml(path, path, null), path, options);
}

/** parseConfig is loadConfig for text already read; relative paths resolve against dirname(file). */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): LoadedConfig {
  return buildConfig(parseToml(text, file), file, options);
}

const DEFAULTS_FILE = '(built-in defaults)';

function buildConfig(table: Record<string, unknown>, file: string | null, options: LoadOptions): LoadedConfig {
  const shownFile = file ?? DEFAULTS_FILE;
  const locate = prefixLocator(shownFile);
  const { data: node, warnings } = validateTable(nodeSchema, table, locate);
  const baseDir = file === null ? process.cwd() : dirname(resolve(file));

  // The node's own region is always 0 ms away.
  const ownRtt = node.regions[node.region];
  if (ownRtt !== undefined && ownRtt !== 0) {
    warnings.push(warningAt(locate(['regions', node.region]), `this node's own region is always 0 ms away; ${ownRtt} ignored`));
  }
  const regions: Record<string, number> = { ...node.regions, [node.region]: 0 };
  const isRegion = (code: string) => FLY_REGION_CODE_PATTERN.test(code) || Object.hasOwn(regions, code);

  for (const [alias, codes] of Object.entries(node.region_aliases)) {
    if (Object.hasOwn(regions, alias)) {
      throw invalidValue(locate(['region_aliases', alias]), alias, 'is a region, so it cannot also be an alias');
    }
    codes.forEach((code, i) => {
      if (!isRegion(code)) throw invalidValue(locate(['region_aliases', alias, i]), code, REGION_MESSAGE);
    });
  }

  const apps: AppConfig[] = [];
  node.apps.forEach((entry, index) => {
    const built = buildAppConfig(entry, index, { file: shownFile, baseDir, region: node.region, isRegion });
    apps.push(built.app);
    warnings.push(...built.warnings);
  });
  checkCrossReferences(apps, node.base_domain, shownFile);

  const env = options.env ?? process.env;
  const envToken = env[API_TOKEN_ENV];
  const config: NodeConfig = {
    region: node.region,
    state: node.state === ':memory:' ? ':memory:' : resolve(baseDir, node.state),
    base_domain: node.base_domain,
    listen: node.listen,
    regions,
    region_aliases: node.region_aliases,
    api: { token: node.api.token ?? (envToken !== undefined && envToken !== '' ? envToken : null) },
    replay: node.replay,
    proxy: node.proxy,
    machines: node.machines,
    orgs: node.orgs,
    log: node.log,
    apps,
    path: file === null ? null : resolve(file),
  };
  return deepFreeze({ config, warnings });
}

/** checkCrossReferences refuses duplicate app names, machine ids and hostnames. */
function checkCrossReferences(apps: AppConfig[], baseDomain: string, file: string): void {
  const appByName = new Map<string, number>();
  const machineOwner = new Map<string, string>();
  const hostOwner = new Map<string, string>();
  for (const app of apps) hostOwner.set(`${app.name}.${baseDomain}`, app.name);

  apps.forEach((app, a) => {
    const first = appByName.get(app.name);
    if (first !== undefined) {
      throw conflict(file, ['apps', a, 'name'], app.name, `is already the name of apps[${first}]`);
    }
    appByName.set(app.name, a);

    app.machines.forEach((group, g) => {
      for (const id of group.ids) {
        const owner = machineOwner.get(id);
        if (owner !== undefined) {
          throw conflict(file, ['apps', a, 'machines', g, 'id'], id, `is already the id of a machine of app "${owner}"`);
        }
        machineOwner.set(id, app.name);
      }
    });

    app.hostnames.forEach((host, h) => {
      const owner = hostOwner.get(host);
      if (owner !== undefined && owner !== app.name) {
        throw conflict(file, ['apps', a, 'hostnames', h], host, `is already claimed by app "${owner}"`);
      }
      hostOwner.set(host, app.name);
    });
  });
}

function conflict(file: string, path: (string | number)[], value: string, message: string): ConfigError {
  return new ConfigError({ code: 'CONFIG_INVALID', file, key: formatKeyPath(path), detail: `${JSON.stringify(value)} ${message}` });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
