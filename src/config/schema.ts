/**
 * Schemas for `ricochet.toml`, the node config. Every key is optional; this table is the
 * reference; docs/configuration.md shows the same tables, kept in step by hand.
 *
 * | key                              | default                    | meaning |
 * |----------------------------------|----------------------------|---------|
 * | `region`                         | `"iad"`                    | region this node is in: `Fly-Region`, origin of closeness |
 * | `state`                          | `".ricochet/state.db"`     | embedded catalog file (relative to the config file), or `":memory:"` |
 * | `base_domain`                    | `"localhost"`              | app X answers at `X.<base_domain>` |
 * | `[listen] host`                  | `"127.0.0.1"`              | public listeners bind here |
 * | `[listen] api`                   | `"127.0.0.1:4280"`         | Machines API `host:port` (port 0 = any free port) |
 * | `[listen] ports`                 | `{ 80 = 8080, 443 = 8443 }`| public port (1–65535) -> local port (0–65535, 0 = any free) on `host`, or `"host:port"` to bind that port on its own address (a private port on loopback); given, it replaces the default; unmapped public ports listen on their own number |
 * | `[regions]`                      | `{}`                       | region -> RTT in ms from this node; this node's region is always 0 |
 * | `[region_aliases]`               | `{}`                       | alias -> region codes, beyond Fly's built-in aliases (spec §1.2) |
 * | `[api] token`                    | env `RICOCHET_API_TOKEN`, else none | bearer token the Machines API requires |
 * | `[replay] max_body_bytes`        | `1048576` (1 MiB)          | largest replayable request body (spec §1.3.12) |
 * | `[replay] timeout_ms`            | `10000`                    | replay deadline when the directive has no `timeout` |
 * | `[replay] cache_max_entries`     | `10000`                    | replay cache size before LRU eviction |
 * | `[replay] max_hops`              | `10`                       | most chained replays per request (spec §1.3.8) |
 * | `[proxy] connect_timeout_ms`     | `5000`                     | TCP connect deadline to a machine |
 * | `[proxy] response_timeout_ms`    | `60000`                    | deadline for a machine's response head |
 * | `[proxy] drain_timeout_ms`       | `10000`                    | graceful shutdown wait for in-flight requests |
 * | `[proxy] max_attempts`           | `5`                        | machines one request is tried on after connection failures |
 * | `[proxy] pool_connections`       | `128`                      | keep-alive connections per machine |
 * | `[proxy] queue_max_waiters`      | `1000`                     | requests that may wait per app and service while every machine is at its hard limit (spec §8.2.5); one more gets 503 PL02 |
 * | `[proxy] queue_max_wait_ms`      | `10000`                    | longest such a wait; past it 503 PL02 with Retry-After |
 * | `[machines] start_timeout_ms`    | `20000`                    | deadline for a started machine to accept connections |
 * | `[machines] autostop_interval_ms`| `60000`                    | period of the autostop pass (spec §9) |
 * | `[machines] max_held_requests`   | `1000`                     | requests held node-wide while machines start (spec §9); one more gets 503 PM09 |
 * | `[orgs.<org>] replay_sources`    | `[]`                       | orgs allowed to replay into `<org>`'s apps (spec §1.4) |
 * | `[log] level`                    | `"info"`                   | fatal, error, warn, info, debug, trace or silent |
 * | `[[apps]]`                       | none                       | apps; see below |
 *
 * `[[apps]]` takes every fly.toml key (`app`, `primary_region`, `[http_service]`, `[[services]]`,
 * `[checks]`, `[env]`, `kill_signal`, `kill_timeout`, `[[restart]]`; see `fly-toml-schema.ts`)
 * plus:
 *
 * | key                  | default                         | meaning |
 * |----------------------|---------------------------------|---------|
 * | `name`               | the fly.toml's `app`            | app name (required one way or the other): lowercase letters, digits, dashes |
 * | `org`                | `"personal"`                    | org slug |
 * | `network`            | `"default"`                     | private network name |
 * | `hostnames`          | `[]`                            | exact names and `*.suffix` wildcards routed to the app, besides `<name>.<base_domain>` |
 * | `public`             | `true`                          | `false`: no Host routes to the app at all; it is reached only by replay (spec §1.3.6) |
 * | `fly_toml`           | none                            | fly.toml path (relative to this file), loaded unchanged; the `[[apps]]` keys override it (tables merge key by key; arrays such as `[[services]]` replace) |
 * | `primary_region`     | the fly.toml's, else `region`   | the app's primary region |
 * | `[[apps.machines]]`  | `[]`                            | machine groups; see below |
 *
 * `[[apps.machines]]`:
 *
 * | key       | default                                   | meaning |
 * |-----------|-------------------------------------------|---------|
 * | `id`      | none                                      | one machine with this fixed id (14 hex), instead of `count` |
 * | `count`   | `1`                                       | machines in the group; ids derived stably from app, group index, ordinal |
 * | `region`  | the app's primary region                  | region of the group's machines |
 * | `cmd`     | none                                      | process driver argv (array, or a string split on whitespace) |
 * | `cwd`     | the fly.toml's directory, else this file's| process driver working directory (relative to this file) |
 * | `address` | none                                      | static driver `host:port`; exactly one of `cmd` and `address` |
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseHostPort } from './host-port.ts';
import { addressSchema } from './machine-config-schema.ts';

export const REGION_MESSAGE = 'is not a region code (3 lowercase letters or a configured region)';
/** REGION_NAME_PATTERN bounds region names in [regions]; a Fly region code is 3 letters. */
export const REGION_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
/** FLY_REGION_CODE_PATTERN is a Fly region code; other names must be listed in [regions]. */
export const FLY_REGION_CODE_PATTERN = /^[a-z]{3}$/;

export const regionNameSchema = z.string({ error: REGION_MESSAGE }).regex(REGION_NAME_PATTERN, { error: REGION_MESSAGE });

const APP_NAME_MESSAGE = 'is not an app name (lowercase letters, digits and dashes; at most 63 characters; no dash at either end)';
export const APP_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const appNameSchema = z.string({ error: APP_NAME_MESSAGE }).regex(APP_NAME_PATTERN, { error: APP_NAME_MESSAGE });

const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ORG_MESSAGE = 'is not an org slug (lowercase letters, digits and dashes)';
const orgSlugSchema = z.string({ error: ORG_MESSAGE }).regex(SLUG_PATTERN, { error: ORG_MESSAGE });
const NETWORK_MESSAGE = 'is not a network name (lowercase letters, digits and dashes)';

const DNS_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN_PATTERN = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
const HOSTNAME_PATTERN = new RegExp(`^(?:\\*\\.)?${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
const DOMAIN_MESSAGE = 'is not a domain (a lowercase DNS name, no port)';
const HOSTNAME_MESSAGE = 'is not a hostname (a lowercase DNS name or "*.suffix", no port)';

const MACHINE_ID_MESSAGE = 'is not a machine id (14 lowercase hex characters)';
/** MACHINE_GROUP_COUNT_MAX bounds `count` so a typo can't spawn a million processes. */
export const MACHINE_GROUP_COUNT_MAX = 1000;

const LISTEN_HOST_MESSAGE = 'is not a host (an IP address or a hostname)';
const LISTEN_API_MESSAGE = 'is not an address ("host:port", port 0–65535)';
const PUBLIC_PORT_MESSAGE = 'is not a public port (1–65535)';
const LOCAL_PORT_MESSAGE = 'is not a local port (0–65535; 0 = any free port) or a "host:port" address';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** DEFAULT_LISTEN_PORTS maps the public HTTP/HTTPS ports to ports that need no root. */
export const DEFAULT_LISTEN_PORTS: Readonly<Record<string, number>> = { '80': 8080, '443': 8443 };

function positiveInt(defaultValue: number, what: string) {
  return z.int().min(1).default(defaultValue).describe(what);
}

function nonNegativeInt(defaultValue: number, what: string) {
  return z.int().min(0).default(defaultValue).describe(what);
}

const listenSchema = z
  .object({
    host: z
      .string({ error: LISTEN_HOST_MESSAGE })
      .refine((host) => isIP(host) !== 0 || DOMAIN_PATTERN.test(host), { error: LISTEN_HOST_MESSAGE })
      .default('127.0.0.1'),
    api: z
      .string({ error: LISTEN_API_MESSAGE })
      .refine((text) => parseHostPort(text) !== null, { error: LISTEN_API_MESSAGE })
      .default('127.0.0.1:4280'),
    ports: z
      .record(
        z.string().refine((key) => /^\d{1,5}$/.test(key) && Number(key) >= 1 && Number(key) <= 65535, { error: PUBLIC_PORT_MESSAGE }),
        z.union(
          [
            z.int().min(0).max(65535),
            // "host:port" binds this public port on its own address, e.g. a private port on loopback.
            z.string().refine((text) => parseHostPort(text) !== null),
          ],
          { error: LOCAL_PORT_MESSAGE },
        ),
      )
      .default({ ...DEFAULT_LISTEN_PORTS }),
  })
  .prefault({});

/** nodeSchema is the top level of ricochet.toml; `[[apps]]` entries are checked one by one. */
export const nodeSchema = z.object({
  region: regionNameSchema.default('iad'),
  state: z.string().min(1).default('.ricochet/state.db'),
  base_domain: z.string({ error: DOMAIN_MESSAGE }).regex(DOMAIN_PATTERN, { error: DOMAIN_MESSAGE }).default('localhost'),
  listen: listenSchema,
  regions: z
    .record(
      regionNameSchema,
      z.number({ error: 'is not an RTT (milliseconds, 0 or more)' }).min(0, { error: 'is not an RTT (milliseconds, 0 or more)' }),
    )
    .default({}),
  region_aliases: z.record(regionNameSchema, z.array(regionNameSchema)).default({}),
  api: z.object({ token: z.string().min(1).optional() }).prefault({}),
  replay: z
    .object({
      max_body_bytes: nonNegativeInt(1_048_576, 'Largest replayable request body, bytes.'),
      timeout_ms: positiveInt(10_000, 'Replay deadline when the directive has none.'),
      cache_max_entries: nonNegativeInt(10_000, 'Replay cache entries before eviction.'),
      max_hops: z.int().min(1).max(100).default(10),
    })
    .prefault({}),
  proxy: z
    .object({
      connect_timeout_ms: positiveInt(5_000, 'TCP connect deadline.'),
      response_timeout_ms: positiveInt(60_000, 'Response head deadline.'),
      drain_timeout_ms: nonNegativeInt(10_000, 'Graceful shutdown wait.'),
      max_attempts: z.int().min(1).max(100).default(5),
      pool_connections: positiveInt(128, 'Keep-alive connections per machine.'),
      queue_max_waiters: nonNegativeInt(1_000, 'Requests waiting per app and service at the hard limit.'),
      queue_max_wait_ms: nonNegativeInt(10_000, 'Longest wait at the hard limit.'),
    })
    .prefault({}),
  machines: z
    .object({
      start_timeout_ms: positiveInt(20_000, 'Start deadline.'),
      autostop_interval_ms: positiveInt(60_000, 'Autostop period.'),
      max_held_requests: nonNegativeInt(1_000, 'Requests held node-wide while machines start.'),
    })
    .prefault({}),
  orgs: z.record(orgSlugSchema, z.object({ replay_sources: z.array(orgSlugSchema).default([]) }).prefault({})).default({}),
  log: z
    .object({ level: z.enum(LOG_LEVELS, { error: `is not a log level (${LOG_LEVELS.join(', ')})` }).default('info') })
    .prefault({}),
  apps: z.array(z.record(z.string(), z.unknown(), { error: 'is not a table ([[apps]] entries are tables)' })).default([]),
});

/** APP_OWN_KEYS are the `[[apps]]` keys that are Ricochet's; every other key is a fly.toml key. */
export const APP_OWN_KEYS = ['name', 'org', 'network', 'hostnames', 'public', 'fly_toml', 'machines'] as const;

const CMD_MESSAGE = 'is not a command (an array of strings, or a string split on whitespace)';

export const machineGroupSchema = z
  .object({
    id: z.string({ error: MACHINE_ID_MESSAGE }).regex(/^[0-9a-f]{14}$/, { error: MACHINE_ID_MESSAGE }).optional(),
    count: z.int().min(0).max(MACHINE_GROUP_COUNT_MAX).optional(),
    region: regionNameSchema.optional(),
    cmd: z
      .union([z.string().regex(/\S/, { error: CMD_MESSAGE }), z.array(z.string()).min(1, { error: CMD_MESSAGE })], { error: CMD_MESSAGE })
      .optional(),
    cwd: z.string().min(1).optional(),
    address: addressSchema.optional(),
  })
  .superRefine((group, ctx) => {
    if (group.id !== undefined && group.count !== undefined && group.count !== 1) {
      ctx.addIssue({ code: 'custom', path: ['count'], input: group.count, message: 'cannot be combined with id (an id names one machine)' });
    }
    if (group.cmd !== undefined && group.address !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['address'], input: group.address, message: 'cannot be combined with cmd (cmd runs a process, address routes to one you run)' });
    } else if (group.cmd === undefined && group.address === undefined) {
      ctx.addIssue({ code: 'custom', path: ['cmd'], input: undefined, message: 'is required (set cmd for the process driver, or address for the static driver)' });
    } else if (group.address !== undefined && group.cwd !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['cwd'], input: group.cwd, message: 'only applies with cmd (the static driver runs nothing)' });
    }
  });

/** appEntrySchema checks the Ricochet-only keys of one `[[apps]]` entry. */
export const appEntrySchema = z.object({
  name: appNameSchema.optional(),
  org: orgSlugSchema.default('personal'),
  network: z.string({ error: NETWORK_MESSAGE }).regex(SLUG_PATTERN, { error: NETWORK_MESSAGE }).default('default'),
  hostnames: z.array(z.string({ error: HOSTNAME_MESSAGE }).regex(HOSTNAME_PATTERN, { error: HOSTNAME_MESSAGE })).default([]),
  public: z.boolean({ error: 'is not a boolean (true: routed by Host; false: reached only by replay)' }).default(true),
  fly_toml: z.string().min(1).optional(),
  machines: z.array(machineGroupSchema).default([]),
});
