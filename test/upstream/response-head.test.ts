import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BadResponseError,
  findHeadEnd,
  headerValue,
  MAX_RESPONSE_HEAD_BYTES,
  parseResponseHead,
} from '../../src/upstream/response-head.ts';

/** head joins a status line and field lines the way a machine sends them, without the blank line. */
function head(...lines: string[]): string {
  return lines.join('\r\n');
}

function rejects(text: string): void {
  assert.throws(
    () => parseResponseHead(text),
    (error: unknown) => error instanceof BadResponseError && error.code === 'UPSTREAM_BAD_RESPONSE',
    JSON.stringify(text),
  );
}

test('parseResponseHead reads an HTTP/1.1 status line with a reason phrase', () => {
  const parsed = parseResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 5'));
  assert.equal(parsed.status, 200);
  assert.equal(parsed.minor, 1);
  assert.equal(parsed.contentLength, 5);
  assert.equal(parsed.chunked, false);
  assert.equal(parsed.keepAlive, true);
});

test('parseResponseHead reads status lines without a reason, with an empty one and with spaces in it', () => {
  for (const line of ['HTTP/1.1 404', 'HTTP/1.1 404 ', 'HTTP/1.1 404 Not  Found here', 'HTTP/1.1 404 Not\tFound']) {
    const parsed = parseResponseHead(line);
    assert.equal(parsed.status, 404, line);
    assert.deepEqual(parsed.headers, [], line);
  }
});

test('parseResponseHead reads HTTP/1.0 responses as minor version 0', () => {
  const parsed = parseResponseHead(head('HTTP/1.0 302 Found', 'Location: /x'));
  assert.equal(parsed.minor, 0);
  assert.equal(parsed.status, 302);
  assert.deepEqual(parsed.headers, ['location', '/x']);
});

test('parseResponseHead reads status codes from 100 up to 999', () => {
  assert.equal(parseResponseHead('HTTP/1.1 100 Continue').status, 100);
  assert.equal(parseResponseHead('HTTP/1.1 599').status, 599);
  assert.equal(parseResponseHead('HTTP/1.1 999 Odd').status, 999);
});

test('parseResponseHead rejects status lines that are not HTTP/1.x with a three-digit code', () => {
  const bad = [
    '',
    'garbage',
    'HTTP/1.1',
    'HTTP/1.1 ',
    'HTTP/1.1 20',
    'HTTP/1.1 20 OK',
    'HTTP/1.1 2000 OK',
    'HTTP/1.1 200OK',
    'HTTP/1.1  200 OK',
    'HTTP/1.1\t200 OK',
    'HTTP/1.2 200 OK',
    'HTTP/2.0 200 OK',
    'HTTP/1.10 200 OK',
    'HTTP/1 200 OK',
    'http/1.1 200 OK',
    'HTTPS/1.1 200 OK',
    ' HTTP/1.1 200 OK',
    'HTTP/1.1 099 Low',
    'HTTP/1.1 000',
    'HTTP/1.1 -20 OK',
    'HTTP/1.1 2x0 OK',
    'HTTP/1.1 +20 OK',
    'ICY 200 OK',
  ];
  for (const line of bad) rejects(line);
  rejects(head('HTTP/1.1 20', 'Content-Length: 0'));
});

test('parseResponseHead rejects a status line that a bare LF or NUL runs into the next line', () => {
  // RFC 9112 §4: reason-phrase is HTAB / SP / VCHAR / obs-text. Read as a reason phrase, the bare LF
  // hides the Transfer-Encoding line from the framing decision.
  rejects(head('HTTP/1.1 200 OK\nTransfer-Encoding: chunked', 'Content-Length: 5'));
  rejects('HTTP/1.1 200 O\0K');
  rejects('HTTP/1.1 200 O\rK');
});

test('parseResponseHead lowercases field names and trims optional whitespace around values', () => {
  const parsed = parseResponseHead(head('HTTP/1.1 200 OK', 'X-Thing: \t one two \t', 'EMPTY:', 'Spaced:    ', 'a:b'));
  assert.deepEqual(parsed.headers, ['x-thing', 'one two', 'empty', '', 'spaced', '', 'a', 'b']);
});

test('parseResponseHead accepts every token character in a field name and obs-text in a value', () => {
  const name = "!#$%&'*+-.^_`|~09azAZ";
  const parsed = parseResponseHead(head('HTTP/1.1 200 OK', `${name}: caf\u00e9 \u00ff`));
  assert.deepEqual(parsed.headers, [name.toLowerCase(), 'caf\u00e9 \u00ff']);
});

test('parseResponseHead rejects whitespace before the colon or at the start of a field name', () => {
  // RFC 9112 §5.1: no whitespace between the field name and the colon.
  for (const line of ['X-Bad : value', 'X-Bad\t: value', ' X-Lead: value', '\tX-Lead: value']) rejects(head('HTTP/1.1 200 OK', line));
});

test('parseResponseHead rejects CR, LF or NUL inside a field name', () => {
  // A bare LF in a name hides a field line from the framing decision, as in a value.
  rejects(head('HTTP/1.1 200 OK', 'X-Hidden\nTransfer-Encoding: chunked', 'Content-Length: 5'));
  rejects(head('HTTP/1.1 200 OK', 'X-Bad\rName: value'));
  rejects(head('HTTP/1.1 200 OK', 'X-Bad\0Name: value'));
});

test('parseResponseHead rejects a field name that is not a token, as it would reach the client as it is', () => {
  for (const name of ['Bad Name', 'A"b', 'A@b', 'A/b', 'caf\u00e9']) rejects(head('HTTP/1.1 200 OK', `${name}: value`));
});

test('parseResponseHead rejects control characters in a field value, and keeps HTAB and obs-text', () => {
  for (const value of ['a\x01b', 'a\x1fb', 'a\x7fb']) rejects(head('HTTP/1.1 200 OK', `X-A: ${value}`));
  assert.deepEqual(parseResponseHead(head('HTTP/1.1 200 OK', 'X-A: a\tb\u00e9')).headers, ['x-a', 'a\tb\u00e9']);
});

test('parseResponseHead rejects a field line without a colon or with an empty name', () => {
  rejects(head('HTTP/1.1 200 OK', 'NoColonHere'));
  rejects(head('HTTP/1.1 200 OK', ': value'));
  rejects(head('HTTP/1.1 200 OK', 'NoColonHere', 'Next: has: colons'));
  rejects(head('HTTP/1.1 200 OK', 'A: b', '', 'C: d'));
});

test('parseResponseHead rejects obs-fold continuation lines and lines that start with whitespace', () => {
  // RFC 9112 §5.2: a user agent may replace obs-fold with SP, a proxy must reject or replace it; Ricochet rejects.
  rejects(head('HTTP/1.1 200 OK', 'X-Long: first', ' continued'));
  rejects(head('HTTP/1.1 200 OK', 'X-Long: first', '\tcontinued'));
  rejects(head('HTTP/1.1 200 OK', ' X-Lead: value'));
  rejects(head('HTTP/1.1 200 OK', '\tX-Lead: value'));
  rejects(head('HTTP/1.1 200 OK', 'X-Long: first', ' more: text'));
});

test('parseResponseHead rejects CR, LF or NUL inside a field value', () => {
  for (const value of ['a\nb', 'a\rb', 'a\0b', '\n', 'a\r', 'end\n']) {
    rejects(head('HTTP/1.1 200 OK', `X-Value: ${value}`, 'Other: ok'));
  }
  // A bare LF in the last line, where no CRLF follows.
  rejects(head('HTTP/1.1 200 OK', 'X-Value: a\nInjected: yes'));
});

test('parseResponseHead keeps every field, repeats included, in arrival order', () => {
  const parsed = parseResponseHead(
    head('HTTP/1.1 200 OK', 'Set-Cookie: a=1', 'X-One: only', 'set-cookie: b=2', 'SET-COOKIE: c=3', 'Vary: accept'),
  );
  assert.deepEqual(parsed.headers, ['set-cookie', 'a=1', 'x-one', 'only', 'set-cookie', 'b=2', 'set-cookie', 'c=3', 'vary', 'accept']);
});

test('headerValue finds a field by lowercase name and joins repeats with a comma', () => {
  const { headers } = parseResponseHead(head('HTTP/1.1 200 OK', 'Vary: accept', 'Content-Type: text/plain', 'vary: origin'));
  assert.equal(headerValue(headers, 'content-type'), 'text/plain');
  assert.equal(headerValue(headers, 'vary'), 'accept, origin');
  assert.equal(headerValue(headers, 'missing'), undefined);
  assert.equal(headerValue(headers, 'text/plain'), undefined);
});

test('parseResponseHead accepts identical Content-Length duplicates and rejects conflicting ones', () => {
  assert.equal(parseResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 7', 'content-length: 7')).contentLength, 7);
  assert.equal(parseResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 7', 'content-length: 007')).contentLength, 7);
  rejects(head('HTTP/1.1 200 OK', 'Content-Length: 7', 'Content-Length: 8'));
  rejects(head('HTTP/1.1 200 OK', 'Content-Length: 0', 'Content-Length: 1'));
});

test('parseResponseHead reads a Content-Length of zero and of fifteen digits', () => {
  assert.equal(parseResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 0')).contentLength, 0);
  assert.equal(parseResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 999999999999999')).contentLength, 999999999999999);
  assert.equal(parseResponseHead('HTTP/1.1 200 OK').contentLength, null);
});

test('parseResponseHead rejects a Content-Length that is not a run of digits', () => {
  for (const value of ['', '-1', '+1', '1.0', '0x10', '1e3', '1 2', '7, 7', '7,7', 'abc', '١٢', '1000000000000000']) {
    rejects(head('HTTP/1.1 200 OK', `Content-Length: ${value}`));
  }
});

test('parseResponseHead frames by chunked when it is the final transfer coding, ignoring Content-Length', () => {
  for (const value of ['chunked', 'Chunked', 'CHUNKED ', 'gzip, chunked', 'gzip,chunked', 'gzip ,  chunked']) {
    const parsed = parseResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 10', `Transfer-Encoding: ${value}`));
    assert.equal(parsed.chunked, true, value);
    assert.equal(parsed.contentLength, null, value);
  }
  const after = parseResponseHead(head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Content-Length: 10'));
  assert.equal(after.chunked, true);
  assert.equal(after.contentLength, null);
});

test('parseResponseHead drops the Content-Length fields that chunked framing overrides', () => {
  // RFC 9112 §6.3: an intermediary must remove Content-Length before it forwards such a message;
  // node:http would frame the client's response by the stale length and the rest of the body
  // would read as the next response.
  for (const fields of [
    ['Content-Length: 3', 'X-A: 1', 'Transfer-Encoding: chunked', 'Content-Length: 3'],
    ['Transfer-Encoding: chunked', 'Content-Length: 10', 'X-A: 1'],
  ]) {
    const parsed = parseResponseHead(head('HTTP/1.1 200 OK', ...fields));
    assert.equal(headerValue(parsed.headers, 'content-length'), undefined, fields.join(' | '));
    assert.equal(headerValue(parsed.headers, 'transfer-encoding'), 'chunked');
    assert.equal(headerValue(parsed.headers, 'x-a'), '1');
  }
});

test('parseResponseHead closes the connection after an HTTP/1.0 response with Transfer-Encoding', () => {
  // RFC 9112 §6.1: the framing of such a message is suspect; the connection is closed after it.
  const parsed = parseResponseHead(head('HTTP/1.0 200 OK', 'Connection: keep-alive', 'Transfer-Encoding: chunked'));
  assert.equal(parsed.chunked, true);
  assert.equal(parsed.keepAlive, false);
});

test('parseResponseHead rejects a transfer coding it cannot frame by', () => {
  for (const value of ['gzip', 'identity', 'chunked, gzip', 'xchunked', 'chunkedx', 'chunked;q=1', '']) {
    rejects(head('HTTP/1.1 200 OK', `Transfer-Encoding: ${value}`));
  }
  // Repeated fields form one list (RFC 9110 §5.3): its last member decides.
  rejects(head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip'));
});

test('parseResponseHead keeps HTTP/1.1 connections alive unless Connection has close', () => {
  const keep = (...fields: string[]) => parseResponseHead(head('HTTP/1.1 200 OK', ...fields)).keepAlive;
  assert.equal(keep(), true);
  assert.equal(keep('Connection: keep-alive'), true);
  assert.equal(keep('Connection: upgrade'), true);
  assert.equal(keep('Connection: closed'), true);
  assert.equal(keep('Connection: close'), false);
  assert.equal(keep('Connection: Close'), false);
  assert.equal(keep('connection: CLOSE'), false);
  assert.equal(keep('Connection: keep-alive, close'), false);
  assert.equal(keep('Connection: x-foo ,close '), false);
  assert.equal(keep('Connection: keep-alive', 'Connection: close'), false);
});

test('parseResponseHead closes HTTP/1.0 connections unless Connection has keep-alive', () => {
  const keep = (...fields: string[]) => parseResponseHead(head('HTTP/1.0 200 OK', ...fields)).keepAlive;
  assert.equal(keep(), false);
  assert.equal(keep('Content-Length: 3'), false);
  assert.equal(keep('Connection: keep-alive'), true);
  assert.equal(keep('Connection: Keep-Alive'), true);
  assert.equal(keep('Connection: foo, keep-alive'), true);
  assert.equal(keep('Connection: x', 'Connection: keep-alive'), true);
  assert.equal(keep('Connection: keep-alives'), false);
  assert.equal(keep('Connection: close'), false);
});

test('findHeadEnd finds the offset just past the first blank line', () => {
  const text = 'HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody\r\n\r\n';
  assert.equal(findHeadEnd(Buffer.from(text, 'latin1')), text.indexOf('body'));
  assert.equal(findHeadEnd(Buffer.from('HTTP/1.1 204\r\n\r\n', 'latin1')), 16);
  assert.equal(findHeadEnd(Buffer.from('\r\n\r\n', 'latin1')), 4);
});

test('findHeadEnd is -1 while the blank line has not fully arrived', () => {
  for (const text of ['', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK\r\n', 'HTTP/1.1 200 OK\r\n\r', 'HTTP/1.1 200 OK\n\n', 'A\r\n\n\r\n']) {
    assert.equal(findHeadEnd(Buffer.from(text, 'latin1')), -1, JSON.stringify(text));
  }
});

test('parseResponseHead reads a head as long as MAX_RESPONSE_HEAD_BYTES allows', () => {
  const line = 'HTTP/1.1 200 OK';
  const value = 'v'.repeat(MAX_RESPONSE_HEAD_BYTES - line.length - 'X-Big: '.length - 2 - 4);
  const text = head(line, `X-Big: ${value}`);
  assert.equal(text.length + 4, MAX_RESPONSE_HEAD_BYTES);
  assert.deepEqual(parseResponseHead(text).headers, ['x-big', value]);
});
