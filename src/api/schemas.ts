/**
 * The Machines API's request and response schemas (spec §14). Requests are validated with
 * them, and `openapi.ts` generates the OpenAPI document from the same objects, so the document
 * cannot drift from what the server accepts. Response schemas are what the server writes; the
 * API tests parse answers with them.
 *
 * Fields Fly has that Ricochet has no use for (`lsvd`, `network` …) are accepted and dropped;
 * Ricochet-only fields live under the one key `ricochet` (a machine config's
 * `config.ricochet`, an app's `ricochet`).
 */
import { z } from 'zod';
import { MACHINE_STATES } from '../catalog/types.ts';
import { durationSchema } from '../config/duration-schema.ts';
import { machineConfigSchema, signalSchema, STOP_TIMEOUT_MAX_MS } from '../config/machine-config-schema.ts';
import { APP_NAME_PATTERN } from '../config/schema.ts';

const APP_NAME_RULE = 'is not an app name (lowercase letters, digits and dashes; at most 63 characters; no dash at either end)';
const SLUG_RULE = 'is not a slug (lowercase letters, digits and dashes)';
const HOSTNAME_RULE = 'is not a hostname (a lowercase DNS name or "*.suffix", no port)';
const MACHINE_NAME_RULE = 'is not a machine name (letters, digits, dashes and underscores; at most 63 characters)';
export const METADATA_KEY_RULE = 'is not a metadata key (letters, digits, ".", "_" and "-"; at most 64 characters)';

const DNS_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** HOSTNAME_PATTERN is an exact hostname or a `*.suffix` wildcard, as ricochet.toml's `hostnames`. */
export const HOSTNAME_PATTERN = new RegExp(`^(?:\\*\\.)?${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
export const MACHINE_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** LEASE_TTL_DEFAULT_SECONDS and LEASE_TTL_MAX_SECONDS bound a lease's life. */
export const LEASE_TTL_DEFAULT_SECONDS = 30;
export const LEASE_TTL_MAX_SECONDS = 86_400;
/** WAIT_TIMEOUT_MAX_SECONDS is Fly's ceiling for `/wait` (fly-go caps `timeout` at 60 s). */
export const WAIT_TIMEOUT_MAX_SECONDS = 60;
/** METADATA_VALUE_MAX_CHARS bounds one metadata value. */
export const METADATA_VALUE_MAX_CHARS = 4096;

export const appNameSchema = z.string({ error: APP_NAME_RULE }).regex(APP_NAME_PATTERN, { error: APP_NAME_RULE });
const slugSchema = z.string({ error: SLUG_RULE }).regex(APP_NAME_PATTERN, { error: SLUG_RULE });
export const machineNameSchema = z.string({ error: MACHINE_NAME_RULE }).regex(MACHINE_NAME_PATTERN, { error: MACHINE_NAME_RULE });
export const metadataKeySchema = z.string({ error: METADATA_KEY_RULE }).regex(METADATA_KEY_PATTERN, { error: METADATA_KEY_RULE });
const regionSchema = z.string().min(1).describe('Region code; default: the node\'s region. It must be a 3-letter code or a region in [regions].');

/** apiMachineConfigSchema is the machine config the API takes: the process driver needs a command. */
export const apiMachineConfigSchema = machineConfigSchema.superRefine((config, ctx) => {
  const init = config.init;
  const hasCommand = (init.exec?.length ?? 0) > 0 || (init.entrypoint?.length ?? 0) > 0 || (init.cmd?.length ?? 0) > 0;
  if (config.ricochet.driver === 'process' && !hasCommand) {
    ctx.addIssue({
      code: 'custom',
      path: ['init', 'exec'],
      input: undefined,
      message: 'is required for the process driver (or init.entrypoint / init.cmd; or set ricochet.driver = "static" with an address)',
    });
  }
});

export const createAppSchema = z
  .object({
    app_name: appNameSchema.describe('Name of the app; it answers at <app_name>.<base_domain>.'),
    org_slug: slugSchema.default('personal').describe('Organization slug (default "personal").'),
    network: slugSchema.optional().describe('Private network name (default "default").'),
    enable_subdomains: z.boolean().optional().describe('Accepted for Fly compatibility; ignored.'),
    ricochet: z
      .object({
        hostnames: z
          .array(z.string({ error: HOSTNAME_RULE }).regex(HOSTNAME_PATTERN, { error: HOSTNAME_RULE }))
          .max(100)
          .default([])
          .describe('Hostnames routed to the app besides <app_name>.<base_domain>; "*.suffix" wildcards allowed.'),
        primary_region: regionSchema.optional().describe('The app\'s primary region (PRIMARY_REGION); default: the node\'s region.'),
        public: z
          .boolean()
          .default(true)
          .describe('false: no Host routes to the app (not even <app_name>.<base_domain>); only a replay reaches it.'),
      })
      .prefault({})
      .describe('Ricochet-only app settings.'),
  })
  .describe('POST /v1/apps body.');

export const createMachineSchema = z
  .object({
    config: apiMachineConfigSchema,
    name: machineNameSchema.optional().describe('Unique name within the app; default: the machine id.'),
    region: regionSchema.optional(),
    skip_launch: z.boolean().default(false).describe('Create the machine in state "created" without starting it.'),
    skip_service_registration: z.boolean().default(false).describe('Create the machine cordoned: it gets no proxy traffic.'),
    lease_ttl: z.int().min(1).max(LEASE_TTL_MAX_SECONDS).optional().describe('Create the machine leased for this many seconds; the answer carries the lease nonce.'),
    lsvd: z.boolean().optional().describe('Accepted for Fly compatibility; ignored.'),
  })
  .describe('POST /v1/apps/{app}/machines body.');

export const updateMachineSchema = z
  .object({
    config: apiMachineConfigSchema,
    name: machineNameSchema.optional().describe('Immutable: must equal the machine\'s name when given.'),
    region: regionSchema.optional().describe('Immutable: must equal the machine\'s region when given.'),
    skip_launch: z.boolean().default(false).describe('Leave a stopped machine stopped after the update.'),
    skip_service_registration: z.boolean().optional().describe('Cordon (true) or uncordon (false) the machine.'),
  })
  .describe('POST /v1/apps/{app}/machines/{id} body: the full config (no partial updates).');

export const stopMachineSchema = z
  .object({
    signal: signalSchema.optional(),
    timeout: durationSchema({ integerUnit: 'ns', maxMs: STOP_TIMEOUT_MAX_MS })
      .optional()
      .describe('Wait after the signal before SIGKILL: "10s", or integer nanoseconds; default: the config\'s stop_config.'),
  })
  .prefault({})
  .describe('POST …/stop body (optional).');

export const acquireLeaseSchema = z
  .object({
    ttl: z.int().min(1).max(LEASE_TTL_MAX_SECONDS).optional().describe('Lease life in seconds (default: the `ttl` query parameter, else 30).'),
    description: z.string().max(256).default('').describe('Free text kept with the lease.'),
  })
  .prefault({})
  .describe('POST …/lease body (optional).');

const TTL_RULE = `is not a lease TTL (whole seconds, 1–${LEASE_TTL_MAX_SECONDS})`;

/** leaseQuery: fly-go sends the lease TTL as a query parameter. */
export const leaseQuery = z.object({
  ttl: z
    .string({ error: TTL_RULE })
    .regex(/^\d{1,6}$/, { error: TTL_RULE })
    .refine((text) => Number(text) >= 1 && Number(text) <= LEASE_TTL_MAX_SECONDS, { error: TTL_RULE })
    .optional()
    .describe('Lease life in seconds, as fly-go sends it.'),
});

export const setMetadataSchema = z
  .object({ value: z.string().max(METADATA_VALUE_MAX_CHARS).describe('The value to store under the key.') })
  .describe('POST …/metadata/{key} body.');

const booleanQuery = z.enum(['true', 'false', '1', '0'], { error: 'is not a boolean ("true" or "false")' });

export const listAppsQuery = z.object({
  org_slug: slugSchema.optional().describe('Only apps of this organization; default: every app.'),
});

export const deleteQuery = z.object({
  force: booleanQuery.optional().describe('Stop what runs first instead of refusing (also accepted as `kill`).'),
  kill: booleanQuery.optional().describe('fly-go\'s spelling of `force`.'),
});

export const listMachinesQuery = z
  .object({
    include_deleted: booleanQuery.optional().describe('Include destroyed machines (the newest few per app are kept).'),
    region: z.string().min(1).optional().describe('Only machines in this region.'),
  })
  .describe('Also `metadata.<key>=<value>`: only machines whose config.metadata has that value.');

export const WAIT_STATES = ['started', 'stopped', 'suspended', 'destroyed'] as const;
const WAIT_STATE_RULE = `is not a state to wait for (${WAIT_STATES.join(', ')})`;
const waitStateSchema = z.enum(WAIT_STATES, { error: WAIT_STATE_RULE });
const TIMEOUT_RULE = `is not a timeout (integer seconds, 1–${WAIT_TIMEOUT_MAX_SECONDS})`;

export const waitQuery = z.object({
  state: z
    .union([waitStateSchema, z.array(waitStateSchema)], { error: WAIT_STATE_RULE })
    .default('started')
    .describe('State to wait for (default "started"); repeat it to wait for any of several.'),
  timeout: z
    .string({ error: TIMEOUT_RULE })
    .regex(/^\d{1,2}$/, { error: TIMEOUT_RULE })
    .refine((text) => Number(text) >= 1 && Number(text) <= WAIT_TIMEOUT_MAX_SECONDS, { error: TIMEOUT_RULE })
    .optional()
    .describe(`Seconds to wait, 1–${WAIT_TIMEOUT_MAX_SECONDS} (default ${WAIT_TIMEOUT_MAX_SECONDS}); 408 past it.`),
  instance_id: z.string().min(1).max(64).optional().describe('The machine version waited on: for "stopped", an older version counts as stopped.'),
  version: z.string().optional().describe('fly-go\'s spelling of instance_id.'),
});

export const cacheQuery = z.object({
  host: z.string().min(1).max(253).optional().describe('Only entries for this request host.'),
  prefix: z.string().min(1).max(2048).optional().describe('Only entries at or under this path prefix, e.g. "/api".'),
});

export const nodeCacheQuery = cacheQuery.extend({
  app: appNameSchema.optional().describe('Only entries of this source app.'),
});

// Responses.

export const errorSchema = z
  .object({
    error: z.string().describe('What went wrong, in one sentence.'),
    code: z.string().describe('Stable error code (docs/api.md "Errors").'),
    request_id: z.string(),
    details: z.array(z.object({ path: z.string(), rule: z.string() })).optional().describe('Validation problems: JSON path and broken rule.'),
  })
  .describe('Every error answer.');

export const okSchema = z.object({ ok: z.literal(true) });

export const appCreatedSchema = z.object({ id: z.string(), name: z.string(), created_at: z.int().describe('Unix milliseconds.') });

export const appSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['deployed', 'pending']).describe('"deployed" once a machine is started.'),
  organization: z.object({ name: z.string(), slug: z.string() }),
  network: z.string(),
  machine_count: z.int(),
  ricochet: z.object({ hostnames: z.array(z.string()), primary_region: z.string(), public: z.boolean(), origin: z.enum(['config', 'api']) }),
});

export const appListSchema = z.object({
  total_apps: z.int(),
  apps: z.array(z.object({ id: z.string(), name: z.string(), machine_count: z.int(), volume_count: z.int(), network: z.string() })),
});

export const machineSchema = z
  .object({
    id: z.string().describe('14 hex characters.'),
    name: z.string(),
    state: z.enum(MACHINE_STATES),
    region: z.string(),
    instance_id: z.string().describe('The machine version; it changes on every update.'),
    private_ip: z.string(),
    config: apiMachineConfigSchema,
    image_ref: z.object({ registry: z.string(), repository: z.string(), tag: z.string(), digest: z.string() }),
    created_at: z.string(),
    updated_at: z.string(),
    events: z.array(z.object({ type: z.string(), status: z.string(), source: z.string(), timestamp: z.int().describe('Unix milliseconds.') })),
    checks: z.array(z.object({ name: z.string(), status: z.enum(['passing', 'warning', 'critical']), output: z.string(), updated_at: z.string() })),
    host_status: z.enum(['ok', 'unknown', 'unreachable']),
    cordoned: z.boolean(),
    nonce: z.string().optional().describe('The lease nonce, on a create with lease_ttl.'),
  })
  .describe('A machine (spec §14).');

export const machineListSchema = z.array(machineSchema);

export const startResultSchema = z.object({
  previous_state: z.enum(MACHINE_STATES),
  migrated: z.boolean(),
  new_host: z.string(),
});

export const leaseSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    nonce: z.string(),
    expires_at: z.int().describe('Unix seconds.'),
    owner: z.string(),
    description: z.string(),
    version: z.string(),
  }),
});

export const metadataSchema = z.record(z.string(), z.string());

export const cacheEntriesSchema = z.object({
  entries: z.array(
    z.object({
      key: z.string(),
      kind: z.enum(['path', 'session']),
      app: z.string(),
      host: z.string(),
      prefix: z.string(),
      route: z.object({
        app: z.string().nullable(),
        regions: z.array(z.string()).nullable(),
        instance: z.string().nullable(),
        prefer_instance: z.string().nullable(),
        elsewhere: z.boolean(),
      }),
      allow_bypass: z.boolean(),
      created_at: z.string(),
      expires_at: z.string(),
      hits: z.int(),
    }),
  ),
  stats: z.object({ entries: z.int(), hits: z.int(), misses: z.int(), evictions: z.int(), expirations: z.int() }),
});

export const cachePurgedSchema = z.object({ purged: z.int() });
