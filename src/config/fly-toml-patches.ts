/**
 * patchFlyToml normalises the older and looser spellings a fly.toml may use into one shape before
 * validation, the way flyctl's `patches.go` does on deploy, so a fly.toml that flyctl accepts
 * loads here unchanged:
 * - `[env]` values that are numbers or booleans become strings; `[[env]]` tables are merged;
 * - a single `[services]`, `[services.ports]`, `[services.tcp_checks]`, `[services.http_checks]`,
 *   `[http_service.checks]` or `[restart]` table becomes a one-entry array;
 * - `concurrency = "20,25"` becomes `{ type = "requests", soft_limit = 20, hard_limit = 25 }`;
 * - ports given as numeric strings (`port = "80"`, `internal_port = "8080"`) become numbers;
 * - `[[checks]]` entries with a `name` become `[checks.<name>]`.
 *
 * Pure: returns a new table and leaves anything it doesn't recognise for validation to report.
 */
import { isTable } from './validate-table.ts';

export function patchFlyToml(table: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...table };
  if ('env' in out) out.env = patchEnv(out.env);
  if ('services' in out) out.services = mapTables(asArray(out.services), patchService);
  if (isTable(out.http_service)) out.http_service = patchHttpService(out.http_service);
  if ('checks' in out) out.checks = patchTopLevelChecks(out.checks);
  if ('restart' in out) out.restart = asArray(out.restart);
  return out;
}

function asArray(value: unknown): unknown {
  return isTable(value) ? [value] : value;
}

function mapTables(value: unknown, patch: (table: Record<string, unknown>) => Record<string, unknown>): unknown {
  return Array.isArray(value) ? value.map((item) => (isTable(item) ? patch(item) : item)) : value;
}

function patchEnv(value: unknown): unknown {
  if (Array.isArray(value) && value.every(isTable)) {
    return Object.assign({}, ...value.map((item) => patchEnv(item) as Record<string, unknown>));
  }
  if (!isTable(value)) return value;
  const env: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    env[key] = typeof item === 'number' || typeof item === 'boolean' || typeof item === 'bigint' ? String(item) : item;
  }
  return env;
}

function numericString(value: unknown): unknown {
  return typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
}

function patchConcurrency(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  if (match === null) return value;
  return { type: 'requests', soft_limit: Number(match[1]), hard_limit: Number(match[2]) };
}

function patchPort(port: Record<string, unknown>): Record<string, unknown> {
  const out = { ...port };
  for (const key of ['port', 'start_port', 'end_port']) if (key in out) out[key] = numericString(out[key]);
  return out;
}

function patchService(service: Record<string, unknown>): Record<string, unknown> {
  const out = { ...service };
  if ('internal_port' in out) out.internal_port = numericString(out.internal_port);
  if ('concurrency' in out) out.concurrency = patchConcurrency(out.concurrency);
  if ('ports' in out) out.ports = mapTables(asArray(out.ports), patchPort);
  for (const key of ['tcp_checks', 'http_checks']) if (key in out) out[key] = asArray(out[key]);
  return out;
}

function patchHttpService(service: Record<string, unknown>): Record<string, unknown> {
  const out = { ...service };
  if ('internal_port' in out) out.internal_port = numericString(out.internal_port);
  if ('concurrency' in out) out.concurrency = patchConcurrency(out.concurrency);
  if ('checks' in out) out.checks = asArray(out.checks);
  return out;
}

function patchTopLevelChecks(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const named = value.every((item) => isTable(item) && typeof item.name === 'string');
  if (!named) return value;
  const checks: Record<string, unknown> = {};
  for (const item of value as Record<string, unknown>[]) {
    const { name, ...check } = item;
    checks[name as string] = check;
  }
  return checks;
}
