/**
 * Zod schemas for a machine config's services (spec §8.1, §9, §11.2, §5.2), shared by the
 * Machines API schema (`machine-config-schema.ts`) and the fly.toml reader (`fly-toml-schema.ts`),
 * which spell ports, http_options and concurrency the same way.
 *
 * Defaults are filled here so that routing never has to: concurrency `connections` with a soft
 * limit of 20 and no hard limit, autostop "off", autostart true, min_machines_running 0.
 */
import { z } from 'zod';
import { durationSchema } from './duration-schema.ts';

export const PORT_MESSAGE = 'is not a port (an integer 1–65535)';
/** PATH_MESSAGE is the error for a check path that isn't an absolute URL path. */
export const PATH_MESSAGE = 'is not a path (it must start with "/")';

/** portSchema is a TCP/UDP port, 1–65535 (spec §11.2). */
export const portSchema = z.int({ error: PORT_MESSAGE }).min(1, { error: PORT_MESSAGE }).max(65535, { error: PORT_MESSAGE });

export const HANDLERS = ['http', 'tls', 'pg_tls', 'proxy_proto'] as const;
const handlerSchema = z
  .enum(HANDLERS, { error: 'is not a handler ("http", "tls", "pg_tls" or "proxy_proto")' })
  .describe('Handler applied at the edge (spec §11.3); none means raw TCP.');

export const AUTOSTOP_MODES = ['off', 'stop', 'suspend'] as const;

/**
 * autostopSchema reads `autostop` (fly.toml `auto_stop_machines`): true = "stop",
 * false = "off", or the mode by name (spec §9).
 */
export const autostopSchema = z
  .codec(
    z.union([z.boolean(), z.enum(AUTOSTOP_MODES)], {
      error: 'is not an autostop mode (true, false, "off", "stop" or "suspend")',
    }),
    z.enum(AUTOSTOP_MODES),
    { decode: (value) => (value === true ? 'stop' : value === false ? 'off' : value), encode: (value) => value },
  )
  .describe('Stop or suspend idle machines: "off" (or false), "stop" (or true), "suspend" (spec §9).');

// spec §5.2: "/api" or "host/api"; no scheme, no port.
const PATH_PREFIX = /^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)?\/[^\s]*$/i;

export const replayCacheRuleSchema = z.object({
  path_prefix: z
    .string({ error: 'is not a path prefix ("/path" or "host/path"; no scheme, no port)' })
    .regex(PATH_PREFIX, { error: 'is not a path prefix ("/path" or "host/path"; no scheme, no port)' })
    .describe('"/api" or "host/api"; an implicit "/*" follows; the longest matching prefix wins.'),
  ttl_seconds: z
    .int({ error: 'is not a TTL (integer seconds, at least 10)' })
    .min(10, { error: 'is not a TTL (integer seconds, at least 10)' })
    .describe('How long a cached replay decision lives, in seconds (at least 10).'),
  type: z
    .enum(['cookie', 'header'], { error: 'is not a cache key source ("cookie" or "header")' })
    .describe('Where the cache key comes from.'),
  name: z.string().min(1).describe('Cookie or header name the cache key is read from.'),
  allow_bypass: z
    .boolean()
    .default(false)
    .describe('Honour `fly-replay-cache-control: skip` from clients.'),
});

/** A field value a response may carry: no control characters but HTAB (RFC 9110 §5.5). */
const fieldValue = z.string().regex(/^[^\x00-\x08\x0a-\x1f\x7f]*$/, {
  error: 'is not a header value: it has a control character (CR, LF, NUL …)',
});

const responseHeaderValue = z.union([fieldValue, z.array(fieldValue), z.literal(false)], {
  error: 'is not a header value (a string, an array of strings, or false to remove the header)',
});

const FIELD_NAME_MESSAGE = "is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)";
/** A field name (RFC 9110 §5.6.2). */
const fieldName = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { error: FIELD_NAME_MESSAGE });

export const httpOptionsSchema = z.object({
  compress: z.boolean().optional().describe('Compress responses at the edge.'),
  h2_backend: z.boolean().optional().describe('Speak h2c to the machine.'),
  idle_timeout: z.int().min(0).optional().describe('Idle connection timeout (unit [UNDOC], spec §8.2.12).'),
  headers_read_timeout: z.int().min(0).optional().describe('Deadline to read request headers ([UNDOC]).'),
  response: z
    .object({
      headers: z
        .record(fieldName, responseHeaderValue, {
          error: (issue) => (issue.code === 'invalid_key' ? FIELD_NAME_MESSAGE : undefined),
        })
        .optional()
        .describe('Response headers to set; false removes the header.'),
      pristine: z.boolean().optional().describe('Leave the response headers untouched.'),
    })
    .optional()
    .describe('Response rewriting.'),
  replay_cache: z
    .array(replayCacheRuleSchema)
    .optional()
    .describe('Session-based replay cache rules (spec §5.2).'),
});

export const tlsOptionsSchema = z.object({
  alpn: z.array(z.string()).optional().describe('ALPN protocols offered, e.g. ["h2", "http/1.1"].'),
  versions: z.array(z.string()).optional().describe('TLS versions, e.g. ["TLSv1.2", "TLSv1.3"].'),
  default_self_signed: z.boolean().optional().describe('Serve a self-signed certificate when none exists.'),
});

/**
 * servicePortSchema is one entry of a service's `ports`: a single `port`, or an inclusive
 * `start_port`..`end_port` range (spec §11.2).
 */
export const servicePortSchema = z
  .object({
    port: portSchema.optional().describe('Public port.'),
    start_port: portSchema.optional().describe('First public port of an inclusive range.'),
    end_port: portSchema.optional().describe('Last public port of an inclusive range.'),
    handlers: z.array(handlerSchema).default([]).describe('Edge handlers, e.g. ["tls", "http"].'),
    force_https: z.boolean().default(false).describe('Redirect plain HTTP to HTTPS.'),
    http_options: httpOptionsSchema.optional().describe('Options of the http handler.'),
    tls_options: tlsOptionsSchema.optional().describe('Options of the tls handler.'),
    proxy_proto_options: z
      .object({ version: z.enum(['v1', 'v2']).default('v1').describe('PROXY protocol version.') })
      .optional()
      .describe('Options of the proxy_proto handler.'),
  })
  .superRefine((entry, ctx) => {
    const { port, start_port: start, end_port: end } = entry;
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], input: undefined, message });
    if (port !== undefined) {
      if (start !== undefined || end !== undefined) {
        issue(start !== undefined ? 'start_port' : 'end_port', 'cannot be combined with port (use port, or start_port and end_port)');
      }
    } else if (start === undefined && end === undefined) {
      issue('port', 'is required (each ports entry needs port, or start_port and end_port)');
    } else if (start === undefined || end === undefined) {
      issue(start === undefined ? 'start_port' : 'end_port', 'is required (a port range needs start_port and end_port)');
    } else if (start > end) {
      issue('start_port', `is greater than end_port (${end})`);
    }
  })
  .describe('A public port or port range and how the edge handles it.');

export const CONCURRENCY_SOFT_LIMIT_DEFAULT = 20;

const concurrencyOutput = z.object({
  type: z.enum(['connections', 'requests']),
  soft_limit: z.int().min(0),
  hard_limit: z.int().min(1).optional(),
});

/**
 * concurrencySchema is a service's `concurrency` (spec §8.1): type "connections" unless given,
 * soft_limit 20 unless given, no hard limit unless given. [UNDOC] With only a hard_limit below
 * 20, the soft limit becomes the hard limit; an explicit soft_limit above hard_limit is an error.
 */
export const concurrencySchema = z
  .codec(
    z
      .object({
        type: z
          .enum(['connections', 'requests'], { error: 'is not a concurrency type ("connections" or "requests")' })
          .default('connections')
          .describe('What counts as load: TCP connections or HTTP requests.'),
        soft_limit: z.int().min(0).optional().describe('Load above which other machines are preferred (default 20).'),
        hard_limit: z.int().min(1).optional().describe('Load at which a machine gets no new traffic (default none).'),
      })
      .superRefine((value, ctx) => {
        if (value.soft_limit !== undefined && value.hard_limit !== undefined && value.soft_limit > value.hard_limit) {
          ctx.addIssue({ code: 'custom', path: ['soft_limit'], input: value.soft_limit, message: `is above hard_limit (${value.hard_limit})` });
        }
      }),
    concurrencyOutput,
    {
      decode: (value) => ({
        type: value.type,
        soft_limit: value.soft_limit ?? Math.min(CONCURRENCY_SOFT_LIMIT_DEFAULT, value.hard_limit ?? CONCURRENCY_SOFT_LIMIT_DEFAULT),
        ...(value.hard_limit === undefined ? {} : { hard_limit: value.hard_limit }),
      }),
      encode: (value) => value,
    },
  )
  .describe('Load limits per machine for this service (spec §8.1).');

export const DEFAULT_CONCURRENCY = { type: 'connections', soft_limit: CONCURRENCY_SOFT_LIMIT_DEFAULT } as const;

/**
 * Service check timing defaults, [UNDOC]: spec §10 gives grace_period 1s, interval 15s,
 * timeout 2s as Fly's example values; Ricochet uses them when a check leaves them out.
 */
export const CHECK_DEFAULTS = { grace_period: '1s', interval: '15s', timeout: '2s' } as const;

const checkHeadersSchema = z
  .array(z.object({ name: z.string().min(1), values: z.array(z.string()) }))
  .describe('Request headers the check sends.');

/** serviceCheckSchema is one API `services[].checks[]` entry (spec §10); integers are nanoseconds. */
export const serviceCheckSchema = z
  .codec(
    z.object({
      type: z.enum(['tcp', 'http'], { error: 'is not a check type ("tcp" or "http")' }).describe('Check kind.'),
      interval: durationSchema({ integerUnit: 'ns' }).optional().describe('Time between checks (default "15s").'),
      timeout: durationSchema({ integerUnit: 'ns' }).optional().describe('Deadline of one check (default "2s").'),
      grace_period: durationSchema({ integerUnit: 'ns' }).optional().describe('Time after start before failures count (default "1s").'),
      method: z.string().min(1).optional().describe('HTTP method (default GET).'),
      path: z.string().startsWith('/', { error: PATH_MESSAGE }).optional().describe('HTTP path (default "/").'),
      protocol: z.enum(['http', 'https']).optional().describe('HTTP check scheme (default http).'),
      tls_skip_verify: z.boolean().optional().describe('Skip certificate verification for https checks.'),
      tls_server_name: z.string().optional().describe('SNI for https checks.'),
      headers: checkHeadersSchema.optional(),
    }),
    z.object({
      type: z.enum(['tcp', 'http']),
      interval: z.string(),
      timeout: z.string(),
      grace_period: z.string(),
      method: z.string().optional(),
      path: z.string().optional(),
      protocol: z.enum(['http', 'https']).optional(),
      tls_skip_verify: z.boolean().optional(),
      tls_server_name: z.string().optional(),
      headers: checkHeadersSchema.optional(),
    }),
    {
      decode: (check) => {
        const timing = { ...CHECK_DEFAULTS, ...withoutUndefined({ interval: check.interval, timeout: check.timeout, grace_period: check.grace_period }) };
        if (check.type === 'tcp') return { type: 'tcp' as const, ...timing };
        return {
          ...withoutUndefined(check),
          type: 'http' as const,
          ...timing,
          method: (check.method ?? 'GET').toUpperCase(),
          path: check.path ?? '/',
          protocol: check.protocol ?? 'http',
        };
      },
      encode: (check) => check,
    },
  )
  .describe('A health check run by the proxy; a failing machine gets no traffic (spec §10).');

/** serviceSchema is one API `services[]` entry (spec §11.2). */
export const serviceSchema = z
  .object({
    protocol: z.enum(['tcp', 'udp'], { error: 'is not a protocol ("tcp" or "udp")' }).default('tcp').describe('Transport protocol.'),
    internal_port: portSchema.describe('Port the machine listens on.'),
    ports: z.array(servicePortSchema).min(1, { error: 'must have at least 1 entry (every service needs a port)' }).describe('Public ports.'),
    autostop: autostopSchema.default('off'),
    autostart: z.boolean().default(true).describe('Start a stopped machine when a request needs one (spec §9).'),
    min_machines_running: z.int().min(0).default(0).describe('Machines autostop leaves running in the primary region.'),
    concurrency: concurrencySchema.default(DEFAULT_CONCURRENCY),
    checks: z.array(serviceCheckSchema).default([]).describe('Health checks that gate routing (spec §10).'),
  })
  .describe('A service: public ports mapped to an internal port.');

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
