import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseReplayHeader,
  parseReplayJson,
  ReplayParseError,
  withCacheHeaders,
  type ReplayDirective,
} from '../../src/replay/directive.ts';
import { formatReplaySrc, parseReplaySrc, type ReplaySrc } from '../../src/replay/replay-src.ts';

const RUNS = 1000;

const isNullableString = (value: unknown): boolean => value === null || typeof value === 'string';

/** assertDirective checks the shape of a parsed directive, field by field. */
function assertDirective(d: ReplayDirective): void {
  assert.equal(typeof d, 'object');
  assert.deepEqual(Object.keys(d).sort(), [
    'app', 'cache', 'elsewhere', 'fallback', 'instance', 'preferInstance', 'regions', 'state', 'timeoutMs', 'transform',
  ]);
  for (const key of ['app', 'instance', 'preferInstance', 'state'] as const) assert.ok(isNullableString(d[key]), key);
  assert.ok(d.regions === null || (Array.isArray(d.regions) && d.regions.every((r) => typeof r === 'string' && r !== '')));
  assert.equal(typeof d.elsewhere, 'boolean');
  assert.ok(d.timeoutMs === null || (Number.isFinite(d.timeoutMs) && d.timeoutMs > 0));
  assert.ok(d.fallback === null || d.fallback === 'force_self' || d.fallback === 'prefer_self');
  assert.ok(!(d.instance !== null && d.preferInstance !== null));
  if (d.transform !== null) {
    assert.ok(d.transform.path === null || d.transform.path.startsWith('/'));
    assert.ok(d.transform.deleteHeaders.every((name) => name === name.toLowerCase()));
    assert.ok(d.transform.setHeaders.every(({ name, value }) => !name.startsWith('fly-replay') && typeof value === 'string'));
  }
  if (d.cache !== null) {
    assert.ok(isNullableString(d.cache.prefix));
    assert.ok(d.cache.ttlSeconds === null || Number.isSafeInteger(d.cache.ttlSeconds));
  }
}

/** outcome runs a parser and fails the property unless it returns a directive or throws PA03. */
function outcome(run: () => ReplayDirective): void {
  let directive: ReplayDirective;
  try {
    directive = run();
  } catch (error) {
    assert.ok(error instanceof ReplayParseError, `threw ${String(error)}`);
    assert.equal(error.code, 'PA03');
    assert.ok(error.field === null || typeof error.field === 'string');
    return;
  }
  assertDirective(directive);
}

// Headers built from the grammar's own pieces reach deeper than random text: real field names,
// plausible and implausible values, quoting, and both separators.
const headerPieces = fc.constantFrom(
  'region', 'instance', 'prefer_instance', 'app', 'state', 'elsewhere', 'timeout', 'fallback',
  '=', ';', ',', '"', '\\', ' ', '\t', 'iad', 'us', 'any', 'true', '10s', '1.5s', 'force_self', '3d8d413b29d089', 'x',
);
const fieldName = fc.constantFrom('region', 'Region', 'instance', 'prefer_instance', 'app', 'state', 'elsewhere', 'timeout', 'fallback', 'bogus');
const fieldValue = fc.oneof(
  fc.constantFrom('iad', 'iad,ord', 'sjc,any', 'us', 'true', 'FALSE', '10s', '800ms', '1m30s', '0s', 'force_self', 'prefer_self', '3d8d413b29d089', 'worker', 'a b', ''),
  fc.string({ maxLength: 12 }),
);
const field = fc
  .tuple(fc.constantFrom('', ' '), fieldName, fc.constantFrom('=', '=', '=', '=', ' = ', ''), fieldValue, fc.boolean())
  .map(([space, name, equals, value, quoted]) => `${space}${name}${equals}${quoted ? `"${value.replace(/["\\]/g, '\\$&')}"` : value}`);
const headerLike = fc.oneof(
  fc.array(headerPieces, { maxLength: 24 }).map((pieces) => pieces.join('')),
  fc.tuple(fc.array(field, { minLength: 1, maxLength: 4 }), fc.constantFrom(';', ',', '; ', ', ')).map(([fields, separator]) => fields.join(separator)),
);

test('parseReplayHeader returns a directive or throws ReplayParseError for any string', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), headerLike), (text) => {
      outcome(() => parseReplayHeader(text));
    }),
    { numRuns: RUNS },
  );
});

const jsonFieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('iad,us', 'sjc', '10s', 'force_self', '/p?q=1', '3d8d413b29d089', 'a'),
);
const setHeader = fc.record({ name: fc.oneof(fc.string(), fc.constantFrom('x-a', 'cookie')), value: fc.oneof(fc.string(), fc.jsonValue()) });
const directiveLike = fc.record(
  {
    app: jsonFieldValue,
    region: jsonFieldValue,
    instance: jsonFieldValue,
    prefer_instance: jsonFieldValue,
    state: jsonFieldValue,
    elsewhere: fc.oneof(fc.boolean(), jsonFieldValue),
    timeout: jsonFieldValue,
    fallback: jsonFieldValue,
    allow_bypass: fc.oneof(fc.boolean(), jsonFieldValue),
    transform: fc.oneof(
      jsonFieldValue,
      fc.record(
        { path: jsonFieldValue, delete_headers: fc.oneof(fc.array(fc.string()), jsonFieldValue), set_headers: fc.oneof(fc.array(setHeader), jsonFieldValue) },
        { requiredKeys: [] },
      ),
    ),
    cache: fc.oneof(
      jsonFieldValue,
      fc.record(
        { prefix: jsonFieldValue, ttl: fc.oneof(fc.integer(), fc.double(), jsonFieldValue), invalidate: fc.oneof(fc.boolean(), jsonFieldValue), allow_bypass: fc.boolean() },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

test('parseReplayJson returns a directive or throws ReplayParseError for any JSON value', () => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), directiveLike), (value) => {
      outcome(() => parseReplayJson(JSON.stringify(value) ?? ''));
    }),
    { numRuns: RUNS },
  );
});

test('parseReplayJson returns a directive or throws ReplayParseError for any string', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
      outcome(() => parseReplayJson(text));
    }),
    { numRuns: RUNS },
  );
});

test('withCacheHeaders returns a directive or throws ReplayParseError for any header strings', () => {
  const maybe = fc.option(fc.oneof(fc.string(), fc.constantFrom('invalidate', '/p/*', 'yes', '30')), { nil: undefined });
  fc.assert(
    fc.property(maybe, maybe, maybe, (cache, ttl, allowBypass) => {
      outcome(() => withCacheHeaders(parseReplayHeader('app=a'), { cache, ttl, allowBypass }));
    }),
    { numRuns: RUNS },
  );
});

// Values formatReplaySrc accepts: visible ASCII and spaces, no ";", no surrounding whitespace.
const headerChar = fc.constantFrom(...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).filter((c) => c !== ';'));
const part = fc.array(headerChar, { maxLength: 40 }).map((chars) => chars.join('').trim());

test('parseReplaySrc reads back whatever formatReplaySrc writes', () => {
  fc.assert(
    fc.property(part, part, fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.option(part, { nil: null }), (instance, region, t, state) => {
      const src: ReplaySrc = { instance, region, t, state };
      const { fields: _fields, ...known } = parseReplaySrc(formatReplaySrc(src));
      assert.deepEqual({ state: null, ...known }, src);
    }),
    { numRuns: RUNS },
  );
});
