import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BadRequestError, parseRequestHead, type RequestHead } from '../../src/downstream/request-head.ts';

/** head joins a request line and field lines the way a client sends them, without the blank line. */
function head(...lines: string[]): string {
  return lines.join('\r\n');
}

/** refusal is the status parseRequestHead refuses `text` with; it fails the test if `text` is accepted. */
function refusal(text: string): number {
  try {
    parseRequestHead(text);
  } catch (error) {
    assert.ok(error instanceof BadRequestError, `${JSON.stringify(text)} threw ${String(error)}`);
    return error.status;
  }
  assert.fail(`${JSON.stringify(text)} was accepted`);
}

/** refused asserts that every text in `texts` is refused with `status`. */
function refused(status: number, texts: readonly string[]): void {
  for (const text of texts) assert.equal(refusal(text), status, JSON.stringify(text));
}

/** withField is a GET with Host: a and one more field line. */
function withField(line: string, version = 'HTTP/1.1'): string {
  return head(`GET / ${version}`, 'Host: a', line);
}

test('parseRequestHead reads an origin-form GET with every property of the head', () => {
  const parsed = parseRequestHead(head('GET /a/b?c=d&e HTTP/1.1', 'Host: app.test', 'Accept: */*'));
  assert.deepEqual(parsed, {
    method: 'GET',
    url: '/a/b?c=d&e',
    minor: 1,
    headers: ['Host', 'app.test', 'Accept', '*/*'],
    host: 'app.test',
    contentLength: null,
    chunked: false,
    keepAlive: true,
    expectContinue: false,
    upgrade: false,
  } satisfies RequestHead);
});

test('parseRequestHead keeps field names as sent and fields in arrival order, repeats included', () => {
  const parsed = parseRequestHead(head('GET / HTTP/1.1', 'x-b: 1', 'hOsT: a', 'X-B: 2', 'Cookie: c=1'));
  assert.deepEqual(parsed.headers, ['x-b', '1', 'hOsT', 'a', 'X-B', '2', 'Cookie', 'c=1']);
  assert.equal(parsed.host, 'a');
});

test('parseRequestHead accepts any token as a method', () => {
  for (const method of ['POST', 'PURGE', 'M-SEARCH', 'get', "x!#$%&'*+-.^_`|~9"]) {
    assert.equal(parseRequestHead(head(`${method} / HTTP/1.1`, 'Host: a')).method, method);
  }
});

test('parseRequestHead reduces an absolute-form target to its path and takes its authority as the Host', () => {
  const parsed = parseRequestHead(head('GET http://example.com:8080/p/q?x=1 HTTP/1.1', 'Host: other.test', 'X-A: b'));
  assert.equal(parsed.url, '/p/q?x=1');
  assert.equal(parsed.host, 'example.com:8080');
  assert.deepEqual(parsed.headers, ['Host', 'example.com:8080', 'X-A', 'b']);
});

test('parseRequestHead gives an absolute-form target without a path the path / and keeps a bare query', () => {
  const cases: [string, string, string][] = [
    ['http://example.com', '/', 'example.com'],
    ['http://example.com?x=1', '/?x=1', 'example.com'],
    ['https://example.com/', '/', 'example.com'],
    ['HTTP://Example.COM/a', '/a', 'Example.COM'],
    ['http://[::1]:8080/a', '/a', '[::1]:8080'],
  ];
  for (const [target, url, host] of cases) {
    const parsed = parseRequestHead(head(`GET ${target} HTTP/1.1`, 'Host: x'));
    assert.equal(parsed.url, url, target);
    assert.equal(parsed.host, host, target);
  }
});

test('parseRequestHead adds the authority as a host field to an absolute-form HTTP/1.0 request without one', () => {
  const parsed = parseRequestHead(head('GET http://example.com/a HTTP/1.0', 'X-A: b'));
  assert.equal(parsed.host, 'example.com');
  assert.deepEqual(parsed.headers, ['X-A', 'b', 'host', 'example.com']);
});

test('parseRequestHead still needs a Host field in an absolute-form HTTP/1.1 request (RFC 9112 §3.2.2)', () => {
  refused(400, [head('GET http://example.com/a HTTP/1.1', 'X-A: b')]);
});

test('parseRequestHead accepts OPTIONS * and no other method with the asterisk target', () => {
  const parsed = parseRequestHead(head('OPTIONS * HTTP/1.1', 'Host: a'));
  assert.equal(parsed.method, 'OPTIONS');
  assert.equal(parsed.url, '*');
  refused(400, [head('GET * HTTP/1.1', 'Host: a'), head('OPTIONS ** HTTP/1.1', 'Host: a')]);
});

test('parseRequestHead refuses CONNECT with 501 whatever its target', () => {
  refused(501, [
    head('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443'),
    head('CONNECT / HTTP/1.1', 'Host: a'),
    head('CONNECT http://example.com/ HTTP/1.1', 'Host: a'),
  ]);
});

test('parseRequestHead refuses request targets that are malformed or outside visible ASCII with 400', () => {
  refused(400, [
    head('GET a/b HTTP/1.1', 'Host: a'),
    head('GET ftp://example.com/ HTTP/1.1', 'Host: a'),
    head('GET http://user@example.com/ HTTP/1.1', 'Host: a'),
    head('GET http:///a HTTP/1.1', 'Host: a'),
    head('GET http://example.com#top HTTP/1.1', 'Host: a'),
    head('GET /caf\xe9 HTTP/1.1', 'Host: a'),
    head('GET /a\x7fb HTTP/1.1', 'Host: a'),
    head('GET /a b HTTP/1.1', 'Host: a'),
    head('GET  / HTTP/1.1', 'Host: a'),
    head('GET\t/ HTTP/1.1', 'Host: a'),
  ]);
});

test('parseRequestHead refuses request lines that are not "method target version" with 400', () => {
  refused(400, [
    '',
    'GET',
    'GET /',
    head('GET /', 'Host: a'),
    head(' GET / HTTP/1.1', 'Host: a'),
    head('G(T / HTTP/1.1', 'Host: a'),
    head('G\xc9T / HTTP/1.1', 'Host: a'),
    head('GET / HTTP/1.1 ', 'Host: a'),
  ]);
});

test('parseRequestHead reads HTTP/1.0 as minor version 0 and HTTP/1.1 as 1', () => {
  assert.equal(parseRequestHead('GET / HTTP/1.0').minor, 0);
  assert.equal(parseRequestHead(head('GET / HTTP/1.1', 'Host: a')).minor, 1);
});

test('parseRequestHead reads a later HTTP/1.x as HTTP/1.1 (RFC 9110 §2.5)', () => {
  assert.equal(parseRequestHead(head('GET / HTTP/1.2', 'Host: a')).minor, 1);
  assert.equal(parseRequestHead(head('GET / HTTP/1.9', 'Host: a')).keepAlive, true);
});

test('parseRequestHead answers other HTTP versions 505 and a version that is not HTTP 400', () => {
  refused(505, ['GET / HTTP/2.0', 'GET / HTTP/0.9', 'GET / HTTP/3.0'].map((line) => head(line, 'Host: a')));
  refused(400, ['GET / HTTP/2', 'GET / http/1.1', 'GET / HTTP/1.1x', 'GET / HTTP/11.1', 'GET / HTTP/1.', 'GET / HTTPS/1.1', 'GET / 1.1']
    .map((line) => head(line, 'Host: a')));
});

test('parseRequestHead refuses field lines without a name or a colon with 400', () => {
  refused(400, [withField('X-A b'), withField(': b'), withField(':'), withField(' '), withField('\t')]);
});

test('parseRequestHead refuses whitespace between a field name and its colon with 400 (RFC 9112 §5.1)', () => {
  refused(400, [withField('X-A : b'), withField('X-A\t: b'), withField('Host : b'), withField('Content-Length : 5')]);
});

test('parseRequestHead refuses field names that are not tokens with 400', () => {
  refused(400, [withField('X(A): b'), withField('X A: b'), withField('X\xe9: b'), withField('X/A: b'), withField('[X]: b')]);
});

test('parseRequestHead refuses obs-fold continuation lines with 400 (RFC 9112 §5.2)', () => {
  refused(400, [
    head('GET / HTTP/1.1', 'Host: a', 'X-A: b', ' c'),
    head('GET / HTTP/1.1', 'Host: a', 'X-A: b', '\tc'),
    head('GET / HTTP/1.1', 'Host: a', 'X-A: b', ' c: d'),
    head('GET / HTTP/1.1', ' Host: a'),
  ]);
});

test('parseRequestHead refuses a bare CR, a bare LF, NUL and other control characters anywhere in the head with 400', () => {
  refused(400, [
    withField('X-A: b\rc'),
    withField('X-A: b\nX-B: c'),
    withField('X-A: b\r'),
    withField('X-A: b\x00c'),
    withField('X-A: b\x01'),
    withField('X-A: \x1fb'),
    withField('X-A: b\x7f'),
    withField('X-A: b\x0bc'),
    withField('X-A: b\x0cc'),
    'GET / HTTP/1.1\nHost: a',
    'GET / HTTP/1.1\r\nHost: a\n',
    'GET /\x00 HTTP/1.1\r\nHost: a',
    'GET / HTTP/1.1\rHost: a',
  ]);
});

test('parseRequestHead keeps obs-text bytes 0x80-0xFF and inner tabs in field values', () => {
  let obsText = '';
  for (let c = 0x80; c <= 0xff; c++) obsText += String.fromCharCode(c);
  const parsed = parseRequestHead(withField(`X-A: a${obsText}\tb`));
  assert.deepEqual(parsed.headers.slice(2), ['X-A', `a${obsText}\tb`]);
});

test('parseRequestHead trims spaces and tabs around a field value and keeps colons inside it', () => {
  const parsed = parseRequestHead(head('GET / HTTP/1.1', 'Host:a', 'X-A: \t b  c \t ', 'X-B:', 'X-C: \t', 'X-D: a:b: c'));
  assert.deepEqual(parsed.headers, ['Host', 'a', 'X-A', 'b  c', 'X-B', '', 'X-C', '', 'X-D', 'a:b: c']);
});

test('parseRequestHead needs exactly one Host field in an HTTP/1.1 request', () => {
  refused(400, [
    'GET / HTTP/1.1',
    head('GET / HTTP/1.1', 'X-A: b'),
    head('GET / HTTP/1.1', 'Host: a', 'Host: a'),
    head('GET / HTTP/1.1', 'Host: a', 'host: b'),
  ]);
  assert.equal(parseRequestHead(head('GET / HTTP/1.1', 'HOST: Example.Test:8080')).host, 'Example.Test:8080');
});

test('parseRequestHead lets an HTTP/1.0 request have no Host field, but not two', () => {
  const none = parseRequestHead(head('GET / HTTP/1.0', 'X-A: b'));
  assert.equal(none.host, '');
  assert.deepEqual(none.headers, ['X-A', 'b']);
  assert.equal(parseRequestHead(head('GET / HTTP/1.0', 'Host: a')).host, 'a');
  refused(400, [head('GET / HTTP/1.0', 'Host: a', 'Host: b')]);
});

test('parseRequestHead reads Content-Length', () => {
  assert.equal(parseRequestHead(withField('Content-Length: 42')).contentLength, 42);
  assert.equal(parseRequestHead(withField('Content-Length: 0')).contentLength, 0);
  assert.equal(parseRequestHead(withField('Content-Length: 007')).contentLength, 7);
  assert.equal(parseRequestHead(withField('Content-Length: 999999999999999')).contentLength, 999_999_999_999_999);
  assert.equal(parseRequestHead(withField('Content-Length: 42')).chunked, false);
});

test('parseRequestHead refuses more than one Content-Length with 400, equal or not, in one field or two', () => {
  // Equal values could be merged (RFC 9110 §8.6), but a machine behind may refuse what it would
  // get; node:http and nginx refuse them too (docs/decisions.md).
  refused(400, [
    withField('Content-Length: 3, 4'),
    withField('Content-Length: 5, 5,5'),
    head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 3', 'Content-Length: 4'),
    head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 3', 'content-length: 3'),
    head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 3', 'Content-Length: 3, 30'),
  ]);
});

test('parseRequestHead refuses a Content-Length that is not a non-negative decimal integer of at most 15 digits', () => {
  const values = ['+3', '-1', '0x10', '3.0', '1e3', '', ' ', '3,,3', '3,', ',3', '3 3', 'three', '1234567890123456', '\xb3'];
  refused(400, values.map((value) => withField(`Content-Length: ${value}`)));
});

test('parseRequestHead reads Transfer-Encoding: chunked in any case as a chunked body', () => {
  for (const value of ['chunked', 'Chunked', 'CHUNKED']) {
    const parsed = parseRequestHead(withField(`Transfer-Encoding: ${value}`));
    assert.equal(parsed.chunked, true, value);
    assert.equal(parsed.contentLength, null, value);
  }
});

test('parseRequestHead refuses Transfer-Encoding beside Content-Length with 400, whatever their order (RFC 9112 §6.3)', () => {
  refused(400, [
    head('POST / HTTP/1.1', 'Host: a', 'Content-Length: 3', 'Transfer-Encoding: chunked'),
    head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked', 'Content-Length: 3'),
    head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked', 'Content-Length: 0'),
    head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: gzip', 'Content-Length: 3'),
  ]);
});

test('parseRequestHead refuses Transfer-Encoding in an HTTP/1.0 request with 400', () => {
  refused(400, [head('POST / HTTP/1.0', 'Transfer-Encoding: chunked'), head('POST / HTTP/1.0', 'Host: a', 'Transfer-Encoding: gzip')]);
});

test('parseRequestHead answers a transfer coding other than exactly chunked with 501', () => {
  const values = ['gzip', 'identity', 'gzip, chunked', 'chunked, identity', 'chunked, chunked', 'chunked,', 'chunkedx', ''];
  refused(501, values.map((value) => withField(`Transfer-Encoding: ${value}`)));
  refused(501, [head('POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked')]);
});

test('parseRequestHead keeps an HTTP/1.1 connection alive unless a Connection field says close', () => {
  const keepAlive = (...fields: string[]): boolean => parseRequestHead(head('GET / HTTP/1.1', 'Host: a', ...fields)).keepAlive;
  assert.equal(keepAlive(), true);
  assert.equal(keepAlive('Connection: keep-alive'), true);
  assert.equal(keepAlive('Connection: closed'), true);
  assert.equal(keepAlive('Connection: x-close'), true);
  assert.equal(keepAlive('Connection: close'), false);
  assert.equal(keepAlive('Connection: CLOSE'), false);
  assert.equal(keepAlive('Connection: keep-alive, Close'), false);
  assert.equal(keepAlive('Connection: x-a,close ,x-b'), false);
  assert.equal(keepAlive('Connection: x-a', 'Connection: close'), false);
});

test('parseRequestHead keeps an HTTP/1.0 connection alive only when a Connection field says keep-alive', () => {
  const keepAlive = (...fields: string[]): boolean => parseRequestHead(head('GET / HTTP/1.0', ...fields)).keepAlive;
  assert.equal(keepAlive(), false);
  assert.equal(keepAlive('Connection: x-keep-alive'), false);
  assert.equal(keepAlive('Connection: keep-alive'), true);
  assert.equal(keepAlive('Connection: Keep-Alive'), true);
  assert.equal(keepAlive('Connection: x-a, keep-alive'), true);
  assert.equal(keepAlive('Connection: x-a', 'Connection: keep-alive'), true);
});

test('parseRequestHead reads Expect: 100-continue in an HTTP/1.1 request and ignores it in HTTP/1.0 (RFC 9110 §10.1.1)', () => {
  assert.equal(parseRequestHead(withField('Expect: 100-continue')).expectContinue, true);
  assert.equal(parseRequestHead(withField('Expect: 100-Continue')).expectContinue, true);
  assert.equal(parseRequestHead(withField('X-A: b')).expectContinue, false);
  assert.equal(parseRequestHead(head('POST / HTTP/1.0', 'Expect: 100-continue')).expectContinue, false);
});

test('parseRequestHead answers any other expectation with 417', () => {
  refused(417, [
    withField('Expect: 200-ok'),
    withField('Expect: 100-continue, x'),
    head('POST / HTTP/1.0', 'Expect: x'),
  ]);
});

test('parseRequestHead sees an upgrade only with Connection: upgrade and an Upgrade field in HTTP/1.1', () => {
  const upgrade = (version: string, ...fields: string[]): boolean =>
    parseRequestHead(head(`GET / ${version}`, 'Host: a', ...fields)).upgrade;
  assert.equal(upgrade('HTTP/1.1', 'Connection: Upgrade', 'Upgrade: websocket'), true);
  assert.equal(upgrade('HTTP/1.1', 'Upgrade: websocket', 'Connection: keep-alive, upgrade'), true);
  assert.equal(upgrade('HTTP/1.1', 'Connection: x', 'Connection: upgrade', 'upgrade: h2c'), true);
  assert.equal(upgrade('HTTP/1.1', 'Upgrade: websocket'), false);
  assert.equal(upgrade('HTTP/1.1', 'Connection: upgrade'), false);
  assert.equal(upgrade('HTTP/1.1', 'Connection: upgraded', 'Upgrade: websocket'), false);
  assert.equal(upgrade('HTTP/1.0', 'Connection: upgrade', 'Upgrade: websocket'), false);
});

/** FRAMING_NAMES are the fields parseRequestHead checks; the property below leaves them out. */
const FRAMING_NAMES = new Set(['host', 'content-length', 'transfer-encoding', 'expect']);
const fieldName = fc
  .stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,24}$/)
  .filter((name) => !FRAMING_NAMES.has(name.toLowerCase()));
/** fieldValue is visible ASCII and obs-text, with inner spaces and tabs but none at either end. */
const fieldValue = fc.stringMatching(/^([!-~\x80-\xff]([ \t!-~\x80-\xff]{0,30}[!-~\x80-\xff])?)?$/);
const ows = fc.constantFrom('', ' ', '\t', '  ', ' \t ');

test('parseRequestHead reads any valid field names and values back as the same flat list', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fieldName, ows, fieldValue, ows), { maxLength: 12 }), (fields) => {
      const lines = fields.map(([name, before, value, after]) => `${name}:${before}${value}${after}`);
      const parsed = parseRequestHead(head('GET / HTTP/1.1', 'Host: h', ...lines));
      assert.deepEqual(parsed.headers, ['Host', 'h', ...fields.flatMap(([name, , value]) => [name, value])]);
      assert.equal(parsed.host, 'h');
      assert.equal(parsed.contentLength, null);
      assert.equal(parsed.chunked, false);
    }),
    { numRuns: 500 },
  );
});
