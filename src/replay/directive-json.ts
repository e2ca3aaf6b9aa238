/**
 * parseReplayJson reads a replay body sent with `Content-Type: application/vnd.fly.replay+json`
 * (spec §2) into a ReplayDirective, or throws ReplayParseError naming the JSON path at fault.
 *
 * Rules (docs/replay.md):
 * - The body is one JSON object of at most REPLAY_JSON_MAX_BYTES UTF-8 bytes. Keys are
 *   case-sensitive, as JSON keys are; an unknown key anywhere is an error, as in the header form.
 * - Types are strict (`elsewhere` a boolean, `timeout` a duration string, `cache.ttl` a number).
 *   A `null` value means the same as an absent key, since many serialisers write nulls.
 * - `allow_bypass` is accepted top-level and inside `cache` ([UNCONFIRMED] location, spec §2);
 *   both at once must agree.
 * - An empty `transform` or `cache` object counts as absent. `{}` is a valid directive: replay
 *   within the same app with ordinary load balancing (spec §1.3.3).
 * - Inside a transform, names are lower-cased and deletes run before sets, so a name in both is
 *   replaced ([UNDOC] order, spec §2). A name set twice is an error.
 */
import { Buffer } from 'node:buffer';
import type { ReplayCacheDirective, ReplayDirective, ReplayTransform } from './directive.ts';
import {
  checkAppName,
  checkCachePrefix,
  checkCombination,
  checkFallback,
  checkHeaderName,
  checkHeaderValue,
  checkMachineId,
  checkRegionList,
  checkSetHeaderName,
  checkState,
  checkTimeout,
  checkTransformPath,
  checkTtlSeconds,
  emptyDirective,
} from './directive-fields.ts';
import { ReplayParseError } from './replay-parse-error.ts';

/** REPLAY_JSON_MAX_BYTES is the largest replay body read; the pipeline stops reading past it. */
export const REPLAY_JSON_MAX_BYTES = 64 * 1024;
/** REPLAY_TRANSFORM_MAX_HEADERS bounds each of `delete_headers` and `set_headers`. */
export const REPLAY_TRANSFORM_MAX_HEADERS = 64;

type JsonObject = Record<string, unknown>;

const TOP_KEYS = new Set([
  'app',
  'region',
  'instance',
  'prefer_instance',
  'state',
  'elsewhere',
  'timeout',
  'fallback',
  'transform',
  'cache',
  'allow_bypass',
]);
const TRANSFORM_KEYS = new Set(['path', 'delete_headers', 'set_headers']);
const CACHE_KEYS = new Set(['prefix', 'ttl', 'invalidate', 'allow_bypass']);
const SET_HEADER_KEYS = new Set(['name', 'value']);

function fail(message: string, path: string | null, cause?: unknown): never {
  throw new ReplayParseError(`Cannot follow the replay body: ${message}`, path, { cause });
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function checkKeys(object: JsonObject, allowed: ReadonlySet<string>, prefix: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) fail(`unknown field "${prefix}${key}"`, `${prefix}${key}`);
  }
}

/** field returns an own property, with null read as absent. */
function field(object: JsonObject, key: string): unknown {
  if (!Object.hasOwn(object, key)) return undefined;
  const value = object[key];
  return value === null ? undefined : value;
}

function optString(object: JsonObject, key: string, path: string): string | undefined {
  const value = field(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(`"${path}" must be a string, not ${typeName(value)}`, path);
  if (value === '') fail(`"${path}" is empty`, path);
  return value;
}

function optBoolean(object: JsonObject, key: string, path: string): boolean | undefined {
  const value = field(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') fail(`"${path}" must be a boolean, not ${typeName(value)}`, path);
  return value;
}

function optObject(object: JsonObject, key: string, path: string): JsonObject | undefined {
  const value = field(object, key);
  if (value === undefined) return undefined;
  if (!isObject(value)) fail(`"${path}" must be an object, not ${typeName(value)}`, path);
  return value;
}

function optArray(object: JsonObject, key: string, path: string): unknown[] | undefined {
  const value = field(object, key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) fail(`"${path}" must be an array, not ${typeName(value)}`, path);
  if (value.length > REPLAY_TRANSFORM_MAX_HEADERS) {
    fail(`"${path}" has more than ${REPLAY_TRANSFORM_MAX_HEADERS} entries`, path);
  }
  return value;
}

function readTransform(object: JsonObject): ReplayTransform | null {
  checkKeys(object, TRANSFORM_KEYS, 'transform.');
  const pathValue = optString(object, 'path', 'transform.path');
  const deleteHeaders: string[] = [];
  (optArray(object, 'delete_headers', 'transform.delete_headers') ?? []).forEach((entry, index) => {
    const path = `transform.delete_headers[${index}]`;
    if (typeof entry !== 'string') fail(`"${path}" must be a string, not ${typeName(entry)}`, path);
    const name = checkHeaderName(entry, path);
    if (!deleteHeaders.includes(name)) deleteHeaders.push(name);
  });
  const setHeaders: { name: string; value: string }[] = [];
  (optArray(object, 'set_headers', 'transform.set_headers') ?? []).forEach((entry, index) => {
    const path = `transform.set_headers[${index}]`;
    if (!isObject(entry)) fail(`"${path}" must be an object, not ${typeName(entry)}`, path);
    checkKeys(entry, SET_HEADER_KEYS, `${path}.`);
    const name = entry.name;
    const value = entry.value;
    if (typeof name !== 'string') fail(`"${path}.name" must be a string, not ${typeName(name)}`, `${path}.name`);
    if (typeof value !== 'string') fail(`"${path}.value" must be a string, not ${typeName(value)}`, `${path}.value`);
    const lower = checkSetHeaderName(name, `${path}.name`);
    if (setHeaders.some((header) => header.name === lower)) fail(`"${path}.name" sets "${lower}" twice`, `${path}.name`);
    setHeaders.push({ name: lower, value: checkHeaderValue(value, `${path}.value`) });
  });
  const path = pathValue === undefined ? null : checkTransformPath(pathValue, 'transform.path');
  if (path === null && deleteHeaders.length === 0 && setHeaders.length === 0) return null;
  return { path, deleteHeaders, setHeaders };
}

function readCache(object: JsonObject | undefined, topAllowBypass: boolean | undefined): ReplayCacheDirective | null {
  if (object !== undefined) checkKeys(object, CACHE_KEYS, 'cache.');
  const prefix = object && optString(object, 'prefix', 'cache.prefix');
  const ttl = object && field(object, 'ttl');
  if (ttl !== undefined && typeof ttl !== 'number') fail(`"cache.ttl" must be a number, not ${typeName(ttl)}`, 'cache.ttl');
  const invalidate = object && optBoolean(object, 'invalidate', 'cache.invalidate');
  const innerAllowBypass = object && optBoolean(object, 'allow_bypass', 'cache.allow_bypass');
  if (innerAllowBypass !== undefined && topAllowBypass !== undefined && innerAllowBypass !== topAllowBypass) {
    fail('"allow_bypass" and "cache.allow_bypass" disagree', 'allow_bypass');
  }
  const allowBypass = innerAllowBypass ?? topAllowBypass ?? false;
  const cache: ReplayCacheDirective = {
    prefix: prefix === undefined ? null : checkCachePrefix(prefix, 'cache.prefix'),
    ttlSeconds: ttl === undefined ? null : checkTtlSeconds(ttl, 'cache.ttl'),
    allowBypass,
    invalidate: invalidate ?? false,
  };
  const empty = cache.prefix === null && cache.ttlSeconds === null && !cache.allowBypass && !cache.invalidate;
  return empty ? null : cache;
}

export function parseReplayJson(body: string): ReplayDirective {
  if (typeof body !== 'string') fail(`expected the body as a string, not ${typeName(body)}`, null);
  if (Buffer.byteLength(body, 'utf8') > REPLAY_JSON_MAX_BYTES) {
    fail(`the body is larger than ${REPLAY_JSON_MAX_BYTES} bytes`, null);
  }
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch (error) {
    fail(`the body is not JSON (${(error as Error).message})`, null, error);
  }
  if (!isObject(document)) fail(`the body must be a JSON object, not ${typeName(document)}`, null);
  checkKeys(document, TOP_KEYS, '');

  const directive = emptyDirective();
  const app = optString(document, 'app', 'app');
  if (app !== undefined) directive.app = checkAppName(app, 'app');
  const region = optString(document, 'region', 'region');
  if (region !== undefined) directive.regions = checkRegionList(region, 'region');
  const instance = optString(document, 'instance', 'instance');
  if (instance !== undefined) directive.instance = checkMachineId(instance, 'instance');
  const preferInstance = optString(document, 'prefer_instance', 'prefer_instance');
  if (preferInstance !== undefined) directive.preferInstance = checkMachineId(preferInstance, 'prefer_instance');
  const state = optString(document, 'state', 'state');
  if (state !== undefined) directive.state = checkState(state, 'state');
  directive.elsewhere = optBoolean(document, 'elsewhere', 'elsewhere') ?? false;
  const timeout = optString(document, 'timeout', 'timeout');
  if (timeout !== undefined) directive.timeoutMs = checkTimeout(timeout, 'timeout');
  const fallback = optString(document, 'fallback', 'fallback');
  if (fallback !== undefined) directive.fallback = checkFallback(fallback, 'fallback');
  const transform = optObject(document, 'transform', 'transform');
  if (transform !== undefined) directive.transform = readTransform(transform);
  const topAllowBypass = optBoolean(document, 'allow_bypass', 'allow_bypass');
  directive.cache = readCache(optObject(document, 'cache', 'cache'), topAllowBypass);
  return checkCombination(directive);
}
