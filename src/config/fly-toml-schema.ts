/**
 * flyTomlSchema validates a fly.toml (after `patchFlyToml`) with fly.toml's own key names, so an
 * error names the key the user wrote. The keys Ricochet acts on (spec §8.1, §9, §10, §11):
 *
 * | key | default | becomes |
 * |-----|---------|---------|
 * | `app` | none | the app name, unless `[[apps]] name` is set |
 * | `primary_region` | the node's `region` | the app's primary region; env `PRIMARY_REGION` |
 * | `kill_signal` | `"SIGINT"` | `stop_config.signal` |
 * | `kill_timeout` | `5` (seconds) | `stop_config.timeout`; integer seconds or a duration; at most 300s |
 * | `[env]` | `{}` | `env` |
 * | `[http_service]` | none | a service: port 80 `["http"]` (with `force_https`), port 443 `["tls", "http"]` (spec §11.1) |
 * | `[http_service] internal_port` | `8080` | the service's `internal_port` |
 * | `[[services]]` | none | services, after `[http_service]` |
 * | `auto_stop_machines` | `"off"` | `autostop`: true/"stop", false/"off", "suspend" (spec §9) |
 * | `auto_start_machines` | `true` | `autostart` |
 * | `min_machines_running` | `0` | `min_machines_running` |
 * | `concurrency` | `connections`, soft 20, no hard limit | `concurrency` (spec §8.1) |
 * | `tcp_checks`, `http_checks`, `[http_service] checks` | none | the service's `checks`; durations "10s" or integer ms (spec §10) |
 * | `[checks.<name>]` | none | `checks.<name>`; `port` defaults to `[http_service] internal_port` |
 * | `[[restart]]` | policy `on-failure` | `restart` (`never` becomes `no`) |
 *
 * Keys that only matter to Fly's builders and VMs (`[build]`, `[deploy]`, `[[vm]]`,
 * `[experimental]`, `swap_size_mb`, `console_command`, `[metrics]`, `processes` lists ...) are
 * accepted and ignored; `[processes]`, `[[mounts]]`, `[[statics]]` and `[[files]]` are ignored
 * with a warning, since an app may depend on them.
 */
import { z } from 'zod';
import { durationSchema } from './duration-schema.ts';
import { signalSchema, STOP_TIMEOUT_MAX_MS } from './machine-config-schema.ts';
import { appNameSchema, regionNameSchema } from './schema.ts';
import {
  autostopSchema,
  concurrencySchema,
  httpOptionsSchema,
  PATH_MESSAGE,
  portSchema,
  servicePortSchema,
  tlsOptionsSchema,
} from './service-schema.ts';

/** Accepted and ignored: Fly uses the key, Ricochet has nothing to do with it. */
const ignored = z.unknown().optional();

// spec §10: in fly.toml, durations are "10s"-style strings or integer milliseconds.
const checkDuration = durationSchema({ integerUnit: 'ms' });

const checkTiming = {
  interval: checkDuration.optional(),
  timeout: checkDuration.optional(),
  grace_period: checkDuration.optional(),
  restart_limit: ignored,
};

const headerMap = z.record(
  z.string().min(1),
  z.union([z.string(), z.array(z.string())], { error: 'is not a header value (a string or an array of strings)' }),
);

const httpCheckFields = {
  ...checkTiming,
  method: z.string().min(1).optional(),
  path: z.string().startsWith('/', { error: PATH_MESSAGE }).optional(),
  protocol: z.enum(['http', 'https'], { error: 'is not a check protocol ("http" or "https")' }).optional(),
  tls_skip_verify: z.boolean().optional(),
  tls_server_name: z.string().optional(),
  headers: headerMap.optional(),
};

export const flyTcpCheckSchema = z.object(checkTiming);
export const flyHttpCheckSchema = z.object(httpCheckFields);

const serviceCommon = {
  auto_stop_machines: autostopSchema.optional(),
  auto_start_machines: z.boolean().optional(),
  min_machines_running: z.int().min(0).optional(),
  concurrency: concurrencySchema.optional(),
  processes: ignored,
  machine_checks: ignored,
};

export const flyServiceSchema = z.object({
  protocol: z.enum(['tcp', 'udp'], { error: 'is not a protocol ("tcp" or "udp")' }).default('tcp'),
  internal_port: portSchema,
  ports: z.array(servicePortSchema).min(1, { error: 'must have at least 1 entry (every service needs a port)' }),
  ...serviceCommon,
  tcp_checks: z.array(flyTcpCheckSchema).optional(),
  http_checks: z.array(flyHttpCheckSchema).optional(),
});

/** HTTP_SERVICE_INTERNAL_PORT_DEFAULT is `[http_service] internal_port` when unset (spec §11.1). */
export const HTTP_SERVICE_INTERNAL_PORT_DEFAULT = 8080;

export const flyHttpServiceSchema = z.object({
  internal_port: portSchema.default(HTTP_SERVICE_INTERNAL_PORT_DEFAULT),
  force_https: z.boolean().default(false),
  ...serviceCommon,
  http_options: httpOptionsSchema.optional(),
  tls_options: tlsOptionsSchema.optional(),
  checks: z.array(flyHttpCheckSchema).optional(),
});

export const flyTopLevelCheckSchema = z.object({
  type: z.enum(['tcp', 'http'], { error: 'is not a check type ("tcp" or "http")' }),
  port: portSchema.optional(),
  ...httpCheckFields,
  kind: z.enum(['readiness', 'informational'], { error: 'is not a check kind ("readiness" or "informational")' }).optional(),
  processes: ignored,
});

export const flyRestartSchema = z.object({
  policy: z.enum(['never', 'on-failure', 'always'], { error: 'is not a restart policy ("never", "on-failure" or "always")' }),
  retries: z.int().min(0).optional(),
  processes: z.array(z.string()).optional(),
});

export const flyTomlSchema = z.object({
  app: appNameSchema.optional(),
  primary_region: regionNameSchema.optional(),
  kill_signal: signalSchema.optional(),
  kill_timeout: durationSchema({ integerUnit: 's', maxMs: STOP_TIMEOUT_MAX_MS }).optional(),
  env: z.record(z.string().min(1), z.string({ error: 'is not an environment value (a string, number or boolean)' })).optional(),
  http_service: flyHttpServiceSchema.optional(),
  services: z.array(flyServiceSchema).optional(),
  checks: z.record(z.string().min(1), flyTopLevelCheckSchema).optional(),
  restart: z.array(flyRestartSchema).optional(),
  build: ignored,
  deploy: ignored,
  vm: ignored,
  compute: ignored,
  experimental: ignored,
  console_command: ignored,
  swap_size_mb: ignored,
  host_dedication_id: ignored,
  metrics: ignored,
  machine_config: ignored,
  container: ignored,
  machine_checks: ignored,
  processes: ignored,
  mounts: ignored,
  mount: ignored,
  statics: ignored,
  files: ignored,
});

export type FlyToml = z.output<typeof flyTomlSchema>;

/** FLY_KEYS_IGNORED_WITH_WARNING: Fly keys an app may depend on that Ricochet does not emulate. */
export const FLY_KEYS_IGNORED_WITH_WARNING: Readonly<Record<string, string>> = {
  processes: 'process groups are not supported, ignored (set cmd in [[apps.machines]])',
  mounts: 'volumes are not emulated, ignored (the process runs in its cwd)',
  mount: 'volumes are not emulated, ignored (the process runs in its cwd)',
  statics: 'static file serving is not emulated, ignored',
  files: 'machine files are not emulated, ignored',
};
