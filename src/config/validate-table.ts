/**
 * validateTable runs a zod schema over a parsed TOML table and turns the outcome into the
 * loader's terms: the first problem becomes a ConfigError that names the file, the key path, the
 * value and what is allowed; keys the schema doesn't know become ConfigWarnings.
 *
 * Unknown keys are found by comparing the input with the schema's output: zod objects strip
 * keys they don't declare, so a key present in the input table but absent from the output table
 * is unknown. Schemas used here keep table shapes (no renaming of keys) for that reason.
 */
import type { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { issueRule, valueAt } from './issue-rule.ts';
import type { ConfigWarning } from './types.ts';

export type KeyPath = readonly (string | number)[];

/** Location is where a key lives for the user: the file and the key path inside it. */
export interface Location {
  file: string;
  key: string;
}

/** Locate maps a path inside the validated value to the file and key path the user wrote. */
export type Locate = (path: KeyPath) => Location;

/** prefixLocator locates every path in one file, under a key prefix (e.g. `apps[2]`). */
export function prefixLocator(file: string, prefix: KeyPath = []): Locate {
  return (path) => ({ file, key: formatKeyPath([...prefix, ...path]) });
}

/** formatKeyPath writes ["apps", 0, "machines", 1, "region"] as `apps[0].machines[1].region`. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** describeValue renders a value for an error message: strings quoted, tables and arrays named. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return 'a date';
  if (Array.isArray(value)) {
    const text = JSON.stringify(value);
    return text !== undefined && text.length <= 60 ? text : 'an array';
  }
  if (isTable(value)) return 'a table';
  return String(value);
}

/** isTable is true for a TOML table (smol-toml gives null-prototype objects) or a plain object. */
export function isTable(value: unknown): value is Record<string, unknown> {
  return Object.prototype.toString.call(value) === '[object Object]';
}

/** invalidValue builds the ConfigError for a bad value at a located key. */
export function invalidValue(location: Location, value: unknown, message: string): ConfigError {
  const detail = value === undefined ? message : `${describeValue(value)} ${message}`;
  return new ConfigError({ code: 'CONFIG_INVALID', file: location.file, key: location.key, detail });
}

/** UNKNOWN_KEY_MESSAGE is the warning for a key the loader doesn't know. */
export const UNKNOWN_KEY_MESSAGE = 'unknown key, ignored';

/**
 * warningAt builds a ConfigWarning for a located key. The message is the note alone; readers
 * print `${file}: ${key}: ${message}`.
 */
export function warningAt(location: Location, message: string): ConfigWarning {
  return { file: location.file, key: location.key, message };
}

export interface Validated<T> {
  data: T;
  warnings: ConfigWarning[];
}

export function validateTable<S extends z.ZodType>(schema: S, input: unknown, locate: Locate): Validated<z.output<S>> {
  const result = schema.safeParse(input, { error: (issue) => issueRule(issue, 'a table') });
  if (!result.success) throw issueToError(result.error.issues[0], input, locate);
  const unknown: KeyPath[] = [];
  collectUnknownKeys(input, result.data, [], unknown);
  return { data: result.data, warnings: unknown.map((path) => warningAt(locate(path), UNKNOWN_KEY_MESSAGE)) };
}

function issueToError(issue: z.core.$ZodIssue, input: unknown, locate: Locate): ConfigError {
  const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
  const location = locate(path);
  if (issue.code === 'invalid_key') {
    // The key itself is bad; the inner issue carries the schema's message for it.
    const inner = issue.issues[0];
    return invalidValue(location, path.at(-1), inner?.message ?? issue.message);
  }
  const value = valueAt(input, path);
  if (value === undefined && issue.code === 'invalid_type') return invalidValue(location, undefined, 'is required');
  return invalidValue(location, value, issue.message);
}


function collectUnknownKeys(input: unknown, output: unknown, path: KeyPath, out: KeyPath[]): void {
  if (isTable(input) && isTable(output)) {
    for (const key of Object.keys(input)) {
      if (Object.hasOwn(output, key)) collectUnknownKeys(input[key], output[key], [...path, key], out);
      else out.push([...path, key]);
    }
  } else if (Array.isArray(input) && Array.isArray(output) && input.length === output.length) {
    input.forEach((item, index) => collectUnknownKeys(item, output[index], [...path, index], out));
  }
}


