/**
 * flyTomlToMachineConfig turns a fly.toml's keys into the machine config `fly deploy` would send
 * (flyctl `appconfig.ToMachineConfig`): `[http_service]` then `[[services]]` become `services`,
 * service checks and `[checks]` become checks, `kill_signal`/`kill_timeout` become
 * `stop_config`, `[[restart]]` becomes `restart`, `[env]` becomes `env` with flyctl's
 * `FLY_PROCESS_GROUP` and `PRIMARY_REGION` added. Every default is filled (see
 * `machine-config-schema.ts`), so nothing downstream has to know fly.toml's defaults.
 */
import type { MachineConfig } from '../catalog/types.ts';
import { ConfigError } from './config-error.ts';
import { patchFlyToml } from './fly-toml-patches.ts';
import { FLY_KEYS_IGNORED_WITH_WARNING, type FlyToml, flyTomlSchema } from './fly-toml-schema.ts';
import { machineConfigSchema } from './machine-config-schema.ts';
import type { ConfigWarning } from './types.ts';
import { formatKeyPath, invalidValue, type Locate, prefixLocator, warningAt, validateTable } from './validate-table.ts';

/** FLY_PROCESS_GROUP is the process group flyctl names the default group (fly-go `MachineProcessGroupApp`). */
export const FLY_PROCESS_GROUP = 'app';

export interface FlyTomlResult {
  config: MachineConfig;
  /** `primary_region`, if the fly.toml has one. */
  primaryRegion: string | null;
  /** `app`, if the fly.toml has one. */
  appName: string | null;
  warnings: ConfigWarning[];
}

export function flyTomlToMachineConfig(table: Record<string, unknown>, file: string): FlyTomlResult {
  return convertFlyToml(patchFlyToml(table), prefixLocator(file));
}

/**
 * convertFlyToml is flyTomlToMachineConfig for a table already patched, with a locator that can
 * send each key to the file it came from (a fly.toml, or the `[[apps]]` entry overriding it).
 */
export function convertFlyToml(patched: Record<string, unknown>, locate: Locate): FlyTomlResult {
  const { data, warnings } = validateTable(flyTomlSchema, patched, locate);
  for (const [key, note] of Object.entries(FLY_KEYS_IGNORED_WITH_WARNING)) {
    if (data[key as keyof FlyToml] !== undefined) warnings.push(warningAt(locate([key]), note));
  }

  const env: Record<string, string> = { ...data.env, FLY_PROCESS_GROUP };
  if (data.primary_region !== undefined) env.PRIMARY_REGION = data.primary_region;
  const raw = {
    image: buildImage(data),
    env,
    services: services(data),
    checks: topLevelChecks(data, locate),
    metadata: { fly_platform_version: 'v2', fly_process_group: FLY_PROCESS_GROUP },
    init: {},
    restart: restartPolicy(data),
    stop_config: {
      ...(data.kill_signal === undefined ? {} : { signal: data.kill_signal }),
      ...(data.kill_timeout === undefined ? {} : { timeout: data.kill_timeout }),
    },
    auto_destroy: false,
    ricochet: { driver: 'process' },
  };
  const result = machineConfigSchema.safeParse(raw);
  if (!result.success) {
    // Unreachable when flyTomlSchema and machineConfigSchema agree; kept so a drift between
    // them surfaces as a config error naming the converted key, not as a crash.
    const issue = result.error.issues[0];
    const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
    throw new ConfigError({
      code: 'CONFIG_INVALID',
      file: locate([]).file,
      key: formatKeyPath(path),
      detail: `converted machine config ${issue.message}`,
    });
  }
  return {
    config: result.data,
    primaryRegion: data.primary_region ?? null,
    appName: data.app ?? null,
    warnings,
  };
}

type FlyService = NonNullable<FlyToml['services']>[number];
type FlyHttpService = NonNullable<FlyToml['http_service']>;
type FlyHttpCheck = NonNullable<FlyHttpService['checks']>[number];
type FlyTcpCheck = NonNullable<FlyService['tcp_checks']>[number];

function buildImage(data: FlyToml): string {
  const build = data.build as { image?: unknown } | undefined;
  return typeof build?.image === 'string' ? build.image : '';
}

function services(data: FlyToml): unknown[] {
  const out: unknown[] = [];
  const http = data.http_service;
  if (http !== undefined) {
    // spec §11.1: port 80 with ["http"], port 443 with ["tls", "http"]; force_https on 80 only.
    out.push({
      protocol: 'tcp',
      internal_port: http.internal_port,
      ports: [
        { port: 80, handlers: ['http'], force_https: http.force_https, ...optional('http_options', http.http_options) },
        {
          port: 443,
          handlers: ['tls', 'http'],
          ...optional('http_options', http.http_options),
          ...optional('tls_options', http.tls_options),
        },
      ],
      ...serviceCommon(http),
      checks: (http.checks ?? []).map(httpCheck),
    });
  }
  for (const service of data.services ?? []) {
    out.push({
      protocol: service.protocol,
      internal_port: service.internal_port,
      ports: service.ports,
      ...serviceCommon(service),
      checks: [...(service.tcp_checks ?? []).map(tcpCheck), ...(service.http_checks ?? []).map(httpCheck)],
    });
  }
  return out;
}

function serviceCommon(service: FlyService | FlyHttpService): Record<string, unknown> {
  return {
    ...optional('autostop', service.auto_stop_machines),
    ...optional('autostart', service.auto_start_machines),
    ...optional('min_machines_running', service.min_machines_running),
    ...optional('concurrency', service.concurrency),
  };
}

function timing(check: FlyTcpCheck): Record<string, unknown> {
  return {
    ...optional('interval', check.interval),
    ...optional('timeout', check.timeout),
    ...optional('grace_period', check.grace_period),
  };
}

function tcpCheck(check: FlyTcpCheck): Record<string, unknown> {
  return { type: 'tcp', ...timing(check) };
}

function httpCheck(check: FlyHttpCheck): Record<string, unknown> {
  return {
    type: 'http',
    ...timing(check),
    ...optional('method', check.method?.toUpperCase()),
    ...optional('path', check.path),
    ...optional('protocol', check.protocol),
    ...optional('tls_skip_verify', check.tls_skip_verify),
    ...optional('tls_server_name', check.tls_server_name),
    ...optional('headers', check.headers === undefined ? undefined : headerList(check.headers)),
  };
}

/** headerList turns fly.toml's `headers = { Name = "v" }` into the API's `[{ name, values }]`. */
function headerList(headers: Record<string, string | string[]>): { name: string; values: string[] }[] {
  return Object.entries(headers).map(([name, value]) => ({ name, values: Array.isArray(value) ? value : [value] }));
}

function topLevelChecks(data: FlyToml, locate: Locate): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, check] of Object.entries(data.checks ?? {})) {
    // flyctl: a check without a port takes [http_service] internal_port, else it is an error.
    const port = check.port ?? data.http_service?.internal_port;
    if (port === undefined) {
      throw invalidValue(locate(['checks', name, 'port']), undefined, 'is required (there is no [http_service] internal_port to default to)');
    }
    out[name] = {
      ...httpCheck(check),
      type: check.type,
      port,
      ...optional('kind', check.kind),
    };
  }
  return out;
}

function restartPolicy(data: FlyToml): Record<string, unknown> {
  // flyctl applies the entries for the group in order, so the last one wins.
  const entries = (data.restart ?? []).filter((entry) => entry.processes === undefined || entry.processes.includes(FLY_PROCESS_GROUP));
  const last = entries.at(-1);
  if (last === undefined) return {};
  return { policy: last.policy === 'never' ? 'no' : last.policy, ...optional('max_retries', last.retries) };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
