import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cacheRestrictionViolation,
  isReplayJsonContentType,
  parseReplayHeader,
  parseReplayJson,
  REPLAY_HEADER_MAX_CHARS,
  REPLAY_JSON_MAX_BYTES,
  REPLAY_STATE_MAX_CHARS,
  ReplayParseError,
  withCacheHeaders,
  type ReplayDirective,
} from '../../src/replay/directive.ts';

const NONE: ReplayDirective = {
  app: null,
  regions: null,
  instance: null,
  preferInstance: null,
  state: null,
  elsewhere: false,
  timeoutMs: null,
  fallback: null,
  transform: null,
  cache: null,
};

function directive(fields: Partial<ReplayDirective>): ReplayDirective {
  return { ...NONE, ...fields };
}

/** rejects asserts that `run` throws a PA03 ReplayParseError blaming `field`. */
function rejects(run: () => unknown, field: string | null, label: string): void {
  assert.throws(
    run,
    (error: unknown) => {
      assert.ok(error instanceof ReplayParseError, `${label}: expected a ReplayParseError, got ${String(error)}`);
      assert.equal(error.code, 'PA03', label);
      assert.equal(error.field, field, label);
      return true;
    },
    label,
  );
}

test('parseReplayHeader reads every header example of the spec', () => {
  const cases: [string, Partial<ReplayDirective>][] = [
    ['region=sjc', { regions: ['sjc'] }],
    ['instance=00bb33ff', { instance: '00bb33ff' }],
    ['instance=3d8d413b29d089', { instance: '3d8d413b29d089' }],
    ['app=app-in-same-org', { app: 'app-in-same-org' }],
    ['region=sjc;app=app-in-same-org', { regions: ['sjc'], app: 'app-in-same-org' }],
    ['region=sjc;app=x', { regions: ['sjc'], app: 'x' }],
    ['region="iad,ord,us,na"', { regions: ['iad', 'ord', 'us', 'na'] }],
    ['region="sjc,any"', { regions: ['sjc', 'any'] }],
    ['app=my-worker;timeout=10s;fallback=force_self', { app: 'my-worker', timeoutMs: 10_000, fallback: 'force_self' }],
    ['app=x;timeout=800ms;fallback=prefer_self', { app: 'x', timeoutMs: 800, fallback: 'prefer_self' }],
    ['timeout=500ms', { timeoutMs: 500 }],
    ['app=router-target,state=tenant-42', { app: 'router-target', state: 'tenant-42' }],
    ['elsewhere=true', { elsewhere: true }],
    ['prefer_instance=3d8d413b29d089', { preferInstance: '3d8d413b29d089' }],
    ['state=secret-key', { state: 'secret-key' }],
  ];
  for (const [header, expected] of cases) {
    assert.deepEqual(parseReplayHeader(header), directive(expected), header);
  }
});

test('parseReplayHeader handles quoting, escapes, whitespace, case and separators', () => {
  const cases: [string, Partial<ReplayDirective>][] = [
    ['  region = sjc ;  app = x  ', { regions: ['sjc'], app: 'x' }],
    ['\tregion=sjc\t', { regions: ['sjc'] }],
    ['Region=SJC;APP=x;Elsewhere=TRUE', { regions: ['sjc'], app: 'x', elsewhere: true }],
    ['fallback=FORCE_SELF;app=x', { app: 'x', fallback: 'force_self' }],
    ['region="iad, ord , us"', { regions: ['iad', 'ord', 'us'] }],
    ['state="a \\"quoted\\" word"', { state: 'a "quoted" word' }],
    ['state="back\\\\slash"', { state: 'back\\slash' }],
    ['state="x,app=y"', { state: 'x,app=y' }],
    ['state = "spaced"  ; app=x', { state: 'spaced', app: 'x' }],
    ['app="quoted-app"', { app: 'quoted-app' }],
    ['state=abc==', { state: 'abc==' }],
    ['state=a,b', { state: 'a,b' }],
    ['region=iad,ord', { regions: ['iad', 'ord'] }],
    ['region=iad, ord, app=x', { regions: ['iad', 'ord'], app: 'x' }],
    ['region=iad,app=x', { regions: ['iad'], app: 'x' }],
    ['region=iad, app=x', { regions: ['iad'], app: 'x' }],
    ['region="iad,ord",app=x', { regions: ['iad', 'ord'], app: 'x' }],
    ['region=sjc;', { regions: ['sjc'] }],
    [';;region=sjc;;app=x;', { regions: ['sjc'], app: 'x' }],
    ['elsewhere=false', { elsewhere: false }],
    ['timeout=1m30s', { timeoutMs: 90_000 }],
    ['timeout=1.5s', { timeoutMs: 1500 }],
    ['timeout="2s"', { timeoutMs: 2000 }],
  ];
  for (const [header, expected] of cases) {
    assert.deepEqual(parseReplayHeader(header), directive(expected), header);
  }
});

test('parseReplayHeader reads two fly-replay headers joined by Node as one directive', () => {
  assert.deepEqual(parseReplayHeader('region=iad, app=x'), directive({ regions: ['iad'], app: 'x' }));
});

test('parseReplayHeader refuses malformed headers with PA03 naming the field', () => {
  const cases: [string, string | null][] = [
    ['', null],
    ['   ', null],
    [';;', null],
    ['=sjc', null],
    ['region', 'region'],
    ['region;app=x', 'region'],
    ['region=', 'region'],
    ['region=""', 'region'],
    ['region=sjc;region=iad', 'region'],
    ['REGION=sjc;region=iad', 'region'],
    ['regoin=sjc', 'regoin'],
    ['transform=/x', 'transform'],
    ['region="sjc', 'region'],
    ['region="sjc"x', 'region'],
    ['region="sjc" x=1', 'region'],
    ['region=s"jc', 'region'],
    ['region="iad,,ord"', 'region'],
    ['region="iad,"', 'region'],
    ['region=i ad', 'region'],
    ['region=iad;ord', 'ord'],
    ['instance=not/an/id', 'instance'],
    ['instance=' + 'a'.repeat(65), 'instance'],
    ['app=bad.name', 'app'],
    ['app=-x', 'app'],
    ['elsewhere=yes', 'elsewhere'],
    ['elsewhere=1', 'elsewhere'],
    ['timeout=10', 'timeout'],
    ['timeout=10x', 'timeout'],
    ['timeout=-1s', 'timeout'],
    ['timeout=0s', 'timeout'],
    ['timeout=0', 'timeout'],
    ['timeout=11m', 'timeout'],
    ['timeout=1 s', 'timeout'],
    ['fallback=self', 'fallback'],
    ['fallback=force-self', 'fallback'],
    ['state=a,app=x,app=y', 'app'],
    ['state=" padded"', 'state'],
    ['state="a;b"', 'state'],
    ['state="tab\there"', 'state'],
    ['state="caf\u00e9"', 'state'],
    ['state=' + 'x'.repeat(REPLAY_STATE_MAX_CHARS + 1), 'state'],
    ['instance=3d8d413b29d089;prefer_instance=4d8d413b29d089', 'prefer_instance'],
    ['\u0000region=sjc', null],
    ['region=sjc;\u00e9=1', null],
  ];
  for (const [header, field] of cases) {
    rejects(() => parseReplayHeader(header), field, JSON.stringify(header));
  }
});

test('parseReplayHeader refuses a header longer than REPLAY_HEADER_MAX_CHARS', () => {
  const header = 'state=' + 'x'.repeat(REPLAY_HEADER_MAX_CHARS);
  rejects(() => parseReplayHeader(header), null, 'over-long header');
});

test('parseReplayHeader leaves catalog-dependent combinations to the planner', () => {
  assert.deepEqual(
    parseReplayHeader('instance=3d8d413b29d089;region=iad;elsewhere=true'),
    directive({ instance: '3d8d413b29d089', regions: ['iad'], elsewhere: true }),
  );
  assert.deepEqual(parseReplayHeader('fallback=force_self'), directive({ fallback: 'force_self' }));
});

test('parseReplayJson reads the spec example and every JSON field', () => {
  const example =
    '{"app":"target-app","region":"iad,us","transform":{"path":"/new/path?param=value",' +
    '"delete_headers":["x-unwanted-header","cookie"],"set_headers":[{"name":"authorization","value":"Bearer token123"}]}}';
  assert.deepEqual(
    parseReplayJson(example),
    directive({
      app: 'target-app',
      regions: ['iad', 'us'],
      transform: {
        path: '/new/path?param=value',
        deleteHeaders: ['x-unwanted-header', 'cookie'],
        setHeaders: [{ name: 'authorization', value: 'Bearer token123' }],
      },
    }),
  );
  const all = JSON.stringify({
    region: 'sjc',
    prefer_instance: '3d8d413b29d089',
    state: 'k',
    elsewhere: true,
    timeout: '10s',
    fallback: 'prefer_self',
  });
  assert.deepEqual(
    parseReplayJson(all),
    directive({ regions: ['sjc'], preferInstance: '3d8d413b29d089', state: 'k', elsewhere: true, timeoutMs: 10_000, fallback: 'prefer_self' }),
  );
  assert.deepEqual(parseReplayJson('{"instance":"00bb33ff"}'), directive({ instance: '00bb33ff' }));
});

test('parseReplayJson reads the cache part, invalidation and allow_bypass in both places', () => {
  assert.deepEqual(
    parseReplayJson('{"app":"a","cache":{"prefix":"/some/path/*","ttl":60}}'),
    directive({ app: 'a', cache: { prefix: '/some/path/*', ttlSeconds: 60, allowBypass: false, invalidate: false } }),
  );
  assert.deepEqual(
    parseReplayJson('{"app":"origin-app","cache":{"invalidate":true}}'),
    directive({ app: 'origin-app', cache: { prefix: null, ttlSeconds: null, allowBypass: false, invalidate: true } }),
  );
  const bypass = { prefix: 'example.com/p', ttlSeconds: 30, allowBypass: true, invalidate: false };
  for (const body of [
    '{"app":"a","allow_bypass":true,"cache":{"prefix":"example.com/p","ttl":30}}',
    '{"app":"a","cache":{"prefix":"example.com/p","ttl":30,"allow_bypass":true}}',
    '{"app":"a","allow_bypass":true,"cache":{"prefix":"example.com/p","ttl":30,"allow_bypass":true}}',
  ]) {
    assert.deepEqual(parseReplayJson(body), directive({ app: 'a', cache: bypass }), body);
  }
});

test('parseReplayJson treats nulls and empty parts as absent', () => {
  assert.deepEqual(parseReplayJson('{}'), NONE);
  assert.deepEqual(parseReplayJson('{"app":"a","region":null,"transform":{},"cache":{}}'), directive({ app: 'a' }));
  assert.deepEqual(parseReplayJson('{"transform":{"path":null,"delete_headers":[],"set_headers":null}}'), NONE);
  assert.deepEqual(parseReplayJson(' \n{"app":"a"}\n '), directive({ app: 'a' }));
});

test('parseReplayJson lower-cases transform header names and drops repeated deletes', () => {
  const parsed = parseReplayJson(
    '{"transform":{"delete_headers":["Cookie","cookie","X-A"],"set_headers":[{"name":"X-Tenant","value":"t 1"},{"name":"cookie","value":""}]}}',
  );
  assert.deepEqual(parsed.transform, {
    path: null,
    deleteHeaders: ['cookie', 'x-a'],
    setHeaders: [
      { name: 'x-tenant', value: 't 1' },
      { name: 'cookie', value: '' },
    ],
  });
});

test('parseReplayJson refuses bad bodies with PA03 naming the JSON path', () => {
  const cases: [string, string | null][] = [
    ['', null],
    ['not json', null],
    ['{"app":"a"', null],
    ['[]', null],
    ['null', null],
    ['42', null],
    ['"app=x"', null],
    ['{"regoin":"iad"}', 'regoin'],
    ['{"App":"a"}', 'App'],
    ['{"__proto__":{"app":"a"}}', '__proto__'],
    ['{"app":1}', 'app'],
    ['{"app":""}', 'app'],
    ['{"region":["iad"]}', 'region'],
    ['{"region":"iad,,ord"}', 'region'],
    ['{"elsewhere":"true"}', 'elsewhere'],
    ['{"timeout":10}', 'timeout'],
    ['{"timeout":"10"}', 'timeout'],
    ['{"fallback":"none"}', 'fallback'],
    ['{"state":"a;b"}', 'state'],
    ['{"instance":"x","prefer_instance":"y"}', 'prefer_instance'],
    ['{"transform":"x"}', 'transform'],
    ['{"transform":{"path":"new"}}', 'transform.path'],
    ['{"transform":{"path":"//evil.example/x"}}', 'transform.path'],
    ['{"transform":{"path":"/a b"}}', 'transform.path'],
    ['{"transform":{"path":"/a#frag"}}', 'transform.path'],
    ['{"transform":{"path":"/caf\u00e9"}}', 'transform.path'],
    ['{"transform":{"query":"a=1"}}', 'transform.query'],
    ['{"transform":{"delete_headers":"cookie"}}', 'transform.delete_headers'],
    ['{"transform":{"delete_headers":["ok",3]}}', 'transform.delete_headers[1]'],
    ['{"transform":{"delete_headers":["bad header"]}}', 'transform.delete_headers[0]'],
    ['{"transform":{"set_headers":{"name":"a","value":"b"}}}', 'transform.set_headers'],
    ['{"transform":{"set_headers":["a: b"]}}', 'transform.set_headers[0]'],
    ['{"transform":{"set_headers":[{"name":"a"}]}}', 'transform.set_headers[0].value'],
    ['{"transform":{"set_headers":[{"value":"b"}]}}', 'transform.set_headers[0].name'],
    ['{"transform":{"set_headers":[{"name":"a","value":1}]}}', 'transform.set_headers[0].value'],
    ['{"transform":{"set_headers":[{"name":"a","value":"b","x":1}]}}', 'transform.set_headers[0].x'],
    ['{"transform":{"set_headers":[{"name":"a:b","value":"c"}]}}', 'transform.set_headers[0].name'],
    ['{"transform":{"set_headers":[{"name":"a","value":"x\\r\\ny: z"}]}}', 'transform.set_headers[0].value'],
    ['{"transform":{"set_headers":[{"name":"a","value":" padded"}]}}', 'transform.set_headers[0].value'],
    ['{"transform":{"set_headers":[{"name":"a","value":"1"},{"name":"A","value":"2"}]}}', 'transform.set_headers[1].name'],
    ['{"cache":[]}', 'cache'],
    ['{"cache":{"ttl":"60"}}', 'cache.ttl'],
    ['{"cache":{"ttl":1.5}}', 'cache.ttl'],
    ['{"cache":{"ttl":-1}}', 'cache.ttl'],
    ['{"cache":{"ttl":1e12}}', 'cache.ttl'],
    ['{"cache":{"prefix":"https://example.com/x"}}', 'cache.prefix'],
    ['{"cache":{"prefix":"example.com:8080/x"}}', 'cache.prefix'],
    ['{"cache":{"prefix":"/a b"}}', 'cache.prefix'],
    ['{"cache":{"invalidate":"yes"}}', 'cache.invalidate'],
    ['{"cache":{"invalidate":true,"prefix":"/x"}}', 'cache'],
    ['{"cache":{"key":"x"}}', 'cache.key'],
    ['{"allow_bypass":"yes"}', 'allow_bypass'],
    ['{"allow_bypass":true,"cache":{"allow_bypass":false,"prefix":"/x"}}', 'allow_bypass'],
  ];
  for (const [body, field] of cases) {
    rejects(() => parseReplayJson(body), field, body);
  }
});

test('parseReplayJson refuses transforms that set hop-by-hop, framing or fly-replay headers', () => {
  for (const name of ['Connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection', 'content-length', 'fly-replay-src', 'Fly-Replay-Failed', 'fly-replay']) {
    const body = JSON.stringify({ transform: { set_headers: [{ name, value: 'x' }] } });
    rejects(() => parseReplayJson(body), 'transform.set_headers[0].name', name);
  }
  const allowed = JSON.stringify({ transform: { set_headers: [{ name: 'host', value: 'tenant.example' }] } });
  assert.deepEqual(parseReplayJson(allowed).transform?.setHeaders, [{ name: 'host', value: 'tenant.example' }]);
});

test('parseReplayJson refuses a body over REPLAY_JSON_MAX_BYTES, counting UTF-8 bytes', () => {
  const padding = ' '.repeat(REPLAY_JSON_MAX_BYTES);
  rejects(() => parseReplayJson(`{"app":"a"}${padding}`), null, 'ascii padding');
  // Under the limit in characters, over it in bytes; without the size check this would fail on
  // the unknown key instead.
  const multibyte = JSON.stringify({ ['\u00e9'.repeat(REPLAY_JSON_MAX_BYTES / 2)]: 1 });
  assert.ok(multibyte.length < REPLAY_JSON_MAX_BYTES);
  rejects(() => parseReplayJson(multibyte), null, 'two-byte characters');
});

test('withCacheHeaders merges the fly-replay-cache headers into a header directive', () => {
  const base = parseReplayHeader('app=tenant');
  assert.equal(withCacheHeaders(base, {}), base);
  assert.deepEqual(
    withCacheHeaders(base, { cache: '/some/path/*', ttl: '30', allowBypass: 'yes' }).cache,
    { prefix: '/some/path/*', ttlSeconds: 30, allowBypass: true, invalidate: false },
  );
  assert.deepEqual(
    withCacheHeaders(base, { cache: 'example.com/some/path/*', ttl: ' 10 ' }).cache,
    { prefix: 'example.com/some/path/*', ttlSeconds: 10, allowBypass: false, invalidate: false },
  );
  assert.deepEqual(
    withCacheHeaders(base, { cache: 'Invalidate' }).cache,
    { prefix: null, ttlSeconds: null, allowBypass: false, invalidate: true },
  );
  assert.equal(withCacheHeaders(base, { cache: '/x', allowBypass: 'no' }).cache?.allowBypass, false);
  assert.equal(base.cache, null, 'the input directive is not changed');
});

test('withCacheHeaders refuses malformed cache headers with PA03 naming the header', () => {
  const base = parseReplayHeader('app=tenant');
  const cases: [Parameters<typeof withCacheHeaders>[1], string][] = [
    [{ cache: '' }, 'fly-replay-cache'],
    [{ cache: 'example.com:443/x' }, 'fly-replay-cache'],
    [{ cache: 'http://example.com/x' }, 'fly-replay-cache'],
    [{ cache: '/x', ttl: 'ten' }, 'fly-replay-cache-ttl-secs'],
    [{ cache: '/x', ttl: '-10' }, 'fly-replay-cache-ttl-secs'],
    [{ cache: '/x', ttl: '1.5' }, 'fly-replay-cache-ttl-secs'],
    [{ cache: '/x', ttl: '99999999999' }, 'fly-replay-cache-ttl-secs'],
    [{ cache: '/x', allowBypass: 'maybe' }, 'fly-replay-cache-allow-bypass'],
    [{ cache: 'invalidate', ttl: '30' }, 'cache'],
    [{ cache: 'invalidate', allowBypass: 'yes' }, 'cache'],
  ];
  for (const [headers, field] of cases) {
    rejects(() => withCacheHeaders(base, headers), field, JSON.stringify(headers));
  }
  const json = parseReplayJson('{"app":"a","cache":{"prefix":"/x","ttl":30}}');
  rejects(() => withCacheHeaders(json, { ttl: '60' }), 'cache', 'cache given twice');
});

test('cacheRestrictionViolation names the spec §5.4 rule a cached directive breaks', () => {
  const cache = { prefix: '/p', ttlSeconds: 30, allowBypass: false, invalidate: false };
  const cases: [Partial<ReplayDirective>, string | null][] = [
    [{ app: 'a', cache }, null],
    [{ app: 'a', regions: ['iad'], elsewhere: true, cache }, null],
    [{ app: 'a', cache: { ...cache, ttlSeconds: null } }, null],
    [{ app: 'a', cache: { ...cache, ttlSeconds: 10 } }, null],
    [{ app: 'a', state: 's', cache }, 'state'],
    [{ app: 'a', transform: { path: '/x', deleteHeaders: [], setHeaders: [] }, cache }, 'transform'],
    [{ app: 'a', timeoutMs: 1000, cache }, 'timeout'],
    [{ app: 'a', fallback: 'prefer_self', cache }, 'fallback'],
    [{ app: 'a', cache: { ...cache, ttlSeconds: 9 } }, 'ttl_below_minimum'],
    [{ app: 'a', cache: { ...cache, ttlSeconds: 0 } }, 'ttl_below_minimum'],
  ];
  for (const [fields, rule] of cases) {
    assert.equal(cacheRestrictionViolation(directive(fields)), rule, JSON.stringify(fields));
  }
});

test('isReplayJsonContentType matches the replay media type with any case and parameters', () => {
  const cases: [string | undefined, boolean][] = [
    ['application/vnd.fly.replay+json', true],
    ['Application/VND.Fly.Replay+JSON', true],
    ['application/vnd.fly.replay+json; charset=utf-8', true],
    ['  application/vnd.fly.replay+json  ;charset=utf-8', true],
    ['application/json', false],
    ['application/vnd.fly.replay+json2', false],
    ['text/html', false],
    ['', false],
    [undefined, false],
  ];
  for (const [contentType, expected] of cases) {
    assert.equal(isReplayJsonContentType(contentType), expected, String(contentType));
  }
});
