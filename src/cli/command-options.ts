/**
 * parseCommand reads an API client command's arguments: the command's own flags plus the ones
 * every command takes (`--api`, `--token`, `--json`, `--help`), with `--api` falling back to
 * $RICOCHET_API and `--token` to $RICOCHET_API_TOKEN. Bad usage is a CliError (exit 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiClient, API_TOKEN_ENV, API_URL_ENV, DEFAULT_API_URL } from './api-client.ts';
import { usage } from './cli-error.ts';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export const COMMON_OPTIONS = {
  api: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies OptionSpecs;

export const COMMON_HELP = `Every command takes:
  --api <url>       the node's Machines API (default $${API_URL_ENV}, else ${DEFAULT_API_URL})
  --token <token>   bearer token (default $${API_TOKEN_ENV})
  --json            machine-readable output on stdout
Exit codes: 0 ok, 1 failed, 2 bad usage, 3 not found, 4 conflict, 5 timed out, 6 unauthorized,
  7 invalid input, 8 API unreachable.
`;

export interface ParsedCommand<O extends OptionSpecs> {
  values: { [K in keyof (O & typeof COMMON_OPTIONS)]?: unknown } & Record<string, unknown>;
  positionals: string[];
  client: ApiClient;
  json: boolean;
  help: boolean;
}

export function parseCommand<O extends OptionSpecs>(args: string[], options: O, env: NodeJS.ProcessEnv = process.env): ParsedCommand<O> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage((error as Error).message);
  }
  const values = parsed.values as Record<string, unknown>;
  const url = (values.api as string | undefined) ?? nonEmpty(env[API_URL_ENV]) ?? DEFAULT_API_URL;
  const token = (values.token as string | undefined) ?? nonEmpty(env[API_TOKEN_ENV]) ?? null;
  if (!/^https?:\/\/[^/]+/.test(url)) throw usage(`--api "${url}" is not an http(s) URL`);
  return {
    values: values as ParsedCommand<O>['values'],
    positionals: parsed.positionals,
    client: new ApiClient(url, token),
    json: values.json === true,
    help: values.help === true,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** str reads a string flag. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** list reads a repeatable string flag. */
export function list(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** keyValues reads repeated KEY=VALUE flags into an object. */
export function keyValues(values: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usage(`--${flag} "${item}" is not KEY=VALUE`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** seconds reads a positive whole number of seconds. */
export function seconds(value: unknown, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usage(`--${flag} "${String(value)}" is not a whole number of seconds`);
  return n;
}

/** print writes a line to stdout: JSON when `json`, else the text. */
export function print(json: boolean, data: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : text);
}
