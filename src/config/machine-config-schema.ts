/**
 * machineConfigSchema validates a Machines API machine `config` (spec §14, §11.2) into a
 * MachineConfig with every default filled. The Machines API validates request bodies with it and
 * generates its OpenAPI document from it, so it stays JSON-schema representable (codecs, never
 * transforms): `z.toJSONSchema(machineConfigSchema, { io: 'input' })` describes what clients
 * send, `{ io: 'output' }` what Ricochet stores and returns.
 *
 * Fly fields Ricochet has no use for (mounts, files, processes, schedule, dns, standbys, statics,
 * size, metrics ...) are accepted and dropped, so configs written for Fly validate unchanged.
 */
import { z } from 'zod';
import type { MachineConfig } from '../catalog/types.ts';
import { durationSchema } from './duration-schema.ts';
import { parseHostPort } from './host-port.ts';
import { PATH_MESSAGE, portSchema, serviceSchema } from './service-schema.ts';

/** SIGNALS are the stop signals Fly accepts (flyctl's list, plus SIGHUP and SIGUSR2). */
export const SIGNALS = [
  'SIGABRT',
  'SIGALRM',
  'SIGFPE',
  'SIGHUP',
  'SIGILL',
  'SIGINT',
  'SIGKILL',
  'SIGPIPE',
  'SIGQUIT',
  'SIGSEGV',
  'SIGTERM',
  'SIGTRAP',
  'SIGUSR1',
  'SIGUSR2',
] as const;

export const signalSchema = z
  .enum(SIGNALS, { error: `is not a signal (${SIGNALS.join(', ')})` })
  .describe('Signal sent to stop the machine.');

/** STOP_TIMEOUT_MAX_MS is Fly's ceiling for kill_timeout (spec §9.4). */
export const STOP_TIMEOUT_MAX_MS = 300_000;
export const DEFAULT_STOP_CONFIG = { signal: 'SIGINT', timeout: '5s' } as const;

const ADDRESS_MESSAGE = 'is not an address ("host:port", port 1–65535)';

/** addressSchema is a static machine's "host:port" target. */
export const addressSchema = z
  .string({ error: ADDRESS_MESSAGE })
  .refine((text) => (parseHostPort(text)?.port ?? 0) >= 1, { error: ADDRESS_MESSAGE });

const stringMap = z.record(z.string().min(1), z.string());

const topLevelCheckSchema = z
  .object({
    type: z.enum(['tcp', 'http'], { error: 'is not a check type ("tcp" or "http")' }).describe('Check kind.'),
    port: portSchema.describe('Machine port the check connects to.'),
    interval: durationSchema({ integerUnit: 'ns' }).optional().describe('Time between checks.'),
    timeout: durationSchema({ integerUnit: 'ns' }).optional().describe('Deadline of one check.'),
    grace_period: durationSchema({ integerUnit: 'ns' }).optional().describe('Time after start before failures count.'),
    method: z.string().min(1).optional().describe('HTTP method.'),
    path: z.string().startsWith('/', { error: PATH_MESSAGE }).optional().describe('HTTP path.'),
    protocol: z.enum(['http', 'https']).optional().describe('HTTP check scheme.'),
    tls_skip_verify: z.boolean().optional().describe('Skip certificate verification for https checks.'),
    tls_server_name: z.string().optional().describe('SNI for https checks.'),
    headers: z
      .array(z.object({ name: z.string().min(1), values: z.array(z.string()) }))
      .optional()
      .describe('Request headers the check sends.'),
    kind: z
      .enum(['readiness', 'informational'], { error: 'is not a check kind ("readiness" or "informational")' })
      .default('informational')
      .describe('"readiness" takes a failing machine out of load balancing; "informational" only reports (spec §10.2).'),
  })
  .describe('A machine-level check; it never affects routing unless kind is "readiness" (spec §10.2).');

const ricochetOptionsSchema = z
  .object({
    driver: z
      .enum(['process', 'static'], { error: 'is not a driver ("process" or "static")' })
      .default('process')
      .describe('"process": Ricochet runs init.exec as a child process; "static": an address you run yourself.'),
    address: addressSchema.optional().describe('static driver: "host:port" every service is routed to.'),
    cwd: z.string().min(1).optional().describe('process driver: working directory of the child process.'),
  })
  .superRefine((options, ctx) => {
    if (options.driver === 'static' && options.address === undefined) {
      ctx.addIssue({ code: 'custom', path: ['address'], input: undefined, message: 'is required for the static driver' });
    }
  })
  .describe('Ricochet-only settings (the one key Fly has no field for).');

export const machineConfigSchema = z
  .object({
    image: z.string().default('').describe('Container image; recorded, not run (Ricochet runs init.exec).'),
    env: stringMap.default({}).describe('Environment variables of the machine.'),
    services: z.array(serviceSchema).default([]).describe('Services routed to the machine (spec §11.2).'),
    checks: z.record(z.string().min(1), topLevelCheckSchema).default({}).describe('Machine-level checks by name.'),
    metadata: stringMap.default({}).describe('Free-form string metadata, e.g. fly_process_group.'),
    init: z
      .object({
        exec: z.array(z.string()).min(1).optional().describe('argv the process driver runs.'),
        entrypoint: z.array(z.string()).optional().describe('Image entrypoint override.'),
        cmd: z.array(z.string()).optional().describe('Image command override.'),
      })
      .default({})
      .describe('What the machine runs.'),
    restart: z
      .object({
        policy: z
          .enum(['no', 'on-failure', 'always'], { error: 'is not a restart policy ("no", "on-failure" or "always")' })
          .default('on-failure')
          .describe('When a machine whose process exits is restarted.'),
        max_retries: z.int().min(0).optional().describe('Restarts allowed for on-failure.'),
      })
      .prefault({})
      .describe('Restart policy.'),
    stop_config: z
      .object({
        signal: signalSchema.default(DEFAULT_STOP_CONFIG.signal),
        timeout: durationSchema({ integerUnit: 'ns', maxMs: STOP_TIMEOUT_MAX_MS })
          .default(DEFAULT_STOP_CONFIG.timeout)
          .describe('Wait after the signal before SIGKILL (at most 300s).'),
      })
      .prefault({})
      .describe('How the machine is stopped (spec §9.4).'),
    auto_destroy: z.boolean().default(false).describe('Destroy the machine when it exits.'),
    guest: z
      .object({
        cpu_kind: z.string().optional().describe('"shared" or "performance"; recorded only.'),
        cpus: z.int().min(1).optional().describe('CPU count; recorded only.'),
        memory_mb: z.int().min(1).optional().describe('Memory in MB; recorded only.'),
      })
      .optional()
      .describe('VM size; recorded only.'),
    ricochet: ricochetOptionsSchema.prefault({}),
  })
  .describe("A machine's config, as Fly's Machines API has it (spec §14).");

/** MachineConfigInput is what a client may send: the schema's input type. */
export type MachineConfigInput = z.input<typeof machineConfigSchema>;

// The schema's output must be a MachineConfig; this fails to compile when they drift apart.
const outputIsMachineConfig: (value: z.output<typeof machineConfigSchema>) => MachineConfig = (value) => value;
void outputIsMachineConfig;
