import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkedDecoder, MAX_CHUNK_LINE_BYTES, MAX_TRAILER_BYTES } from '../../src/upstream/chunked-decoder.ts';
import { BadResponseError } from '../../src/upstream/response-head.ts';

interface Decoded {
  body: Buffer;
  /** Bytes of the input that belong to the message, summed over every push. */
  consumed: number;
  done: boolean;
}

/** decode pushes `input` cut at `cuts` (offsets, any order, duplicates allowed) into one decoder. */
function decode(input: Buffer, cuts: readonly number[] = []): Decoded {
  const decoder = new ChunkedDecoder();
  const pieces: Buffer[] = [];
  const bounds = [...new Set([0, ...cuts.filter((c) => c > 0 && c < input.length), input.length])].sort((a, b) => a - b);
  let consumed = 0;
  for (let k = 1; k < bounds.length; k++) {
    const part = input.subarray(bounds[k - 1], bounds[k]);
    const wasDone = decoder.done;
    const used = decoder.push(part, (data) => {
      assert.ok(data.length > 0, 'onData is never called with an empty piece');
      pieces.push(Buffer.from(data));
    });
    assert.ok(used >= 0 && used <= part.length);
    // Before the end every byte belongs to the message; after it none does.
    if (!decoder.done) assert.equal(used, part.length);
    if (wasDone) assert.equal(used, 0);
    consumed += used;
  }
  return { body: Buffer.concat(pieces), consumed, done: decoder.done };
}

function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** rejects says decoding `text` (whole, then byte by byte) ends in a BadResponseError. */
function rejects(text: string | Buffer): void {
  const input = typeof text === 'string' ? bytes(text) : text;
  const isBad = (error: unknown) => error instanceof BadResponseError && error.code === 'UPSTREAM_BAD_RESPONSE';
  const label = JSON.stringify(input.toString('latin1').slice(0, 80));
  assert.throws(() => decode(input), isBad, `whole: ${label}`);
  assert.throws(() => decode(input, Array.from({ length: input.length }, (_, i) => i)), isBad, `byte by byte: ${label}`);
}

const EXT_TEXT = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.!~'), minLength: 1, maxLength: 8 });
const EXTENSION = fc.oneof(
  EXT_TEXT.map((name) => `;${name}`),
  fc.tuple(EXT_TEXT, EXT_TEXT).map(([name, value]) => `;${name}=${value}`),
  fc.tuple(EXT_TEXT, EXT_TEXT).map(([name, value]) => ` ; ${name} = "${value} ;\\" x"`),
);
const CHUNK = fc.record({
  data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  extensions: fc.array(EXTENSION, { maxLength: 3 }),
  upper: fc.boolean(),
});
const TRAILER = fc.tuple(EXT_TEXT, fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ' '))).map(([name, value]) => `${name}: ${value}`);

test('ChunkedDecoder yields the same body for any chunking, extensions, trailers and cuts, and stops at the message end', () => {
  fc.assert(
    fc.property(
      fc.array(CHUNK, { maxLength: 12 }),
      fc.array(fc.string({ unit: fc.constantFrom(...';x= '), maxLength: 4 }), { maxLength: 1 }),
      fc.array(TRAILER, { maxLength: 4 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (chunks, lastExtension, trailers, after, rawCuts) => {
        const parts: Buffer[] = [];
        for (const { data, extensions, upper } of chunks) {
          const size = data.length.toString(16);
          parts.push(bytes(`${upper ? size.toUpperCase() : size}${extensions.join('')}\r\n`), Buffer.from(data), bytes('\r\n'));
        }
        const last = lastExtension.length === 0 || lastExtension[0].trim() === '' ? '' : `;${lastExtension[0]}`;
        parts.push(bytes(`0${last}\r\n${trailers.map((line) => `${line}\r\n`).join('')}\r\n`));
        const message = Buffer.concat(parts);
        const input = Buffer.concat([message, Buffer.from(after)]);
        const cuts = rawCuts.map((c) => c % (input.length + 1));
        const decoded = decode(input, cuts);
        assert.deepEqual(decoded.body, Buffer.concat(chunks.map((c) => Buffer.from(c.data))));
        assert.equal(decoded.done, true);
        assert.equal(decoded.consumed, message.length);
      },
    ),
    { numRuns: 300 },
  );
});

test('ChunkedDecoder hands over chunk data as views of the input, without copying', () => {
  const input = bytes('5\r\nhello\r\n0\r\n\r\n');
  const seen: Buffer[] = [];
  new ChunkedDecoder().push(input, (data) => seen.push(data));
  assert.equal(seen.length, 1);
  assert.equal(seen[0].buffer, input.buffer);
  assert.equal(seen[0].toString(), 'hello');
});

test('ChunkedDecoder is not done before the last CRLF and reports the bytes it used', () => {
  const decoder = new ChunkedDecoder();
  const noop = () => {};
  assert.equal(decoder.push(bytes('3\r\nabc\r\n0\r\n'), noop), 11);
  assert.equal(decoder.done, false);
  assert.equal(decoder.push(bytes('X-Trailer: 1\r\n\r'), noop), 15);
  assert.equal(decoder.done, false);
  assert.equal(decoder.push(bytes('\nHTTP/1.1 200 OK'), noop), 1);
  assert.equal(decoder.done, true);
  assert.equal(decoder.push(bytes('more'), noop), 0);
});

test('ChunkedDecoder reads an empty body: a last chunk alone', () => {
  const decoded = decode(bytes('0\r\n\r\n'));
  assert.equal(decoded.body.length, 0);
  assert.equal(decoded.done, true);
  assert.equal(decoded.consumed, 5);
  assert.equal(decode(bytes('000\r\n\r\n')).done, true);
});

test('ChunkedDecoder rejects chunk sizes that are not hex digits', () => {
  for (const line of ['\r\n', 'g\r\n', '-1\r\n', '+1\r\n', '0x5\r\n', ' 5\r\n', ';ext\r\n', 'z\r\n', '5z\r\n', '5\0\r\n']) {
    rejects(`${line}hello\r\n0\r\n\r\n`);
  }
  rejects('5\r\nhello\r\nq\r\n\r\n');
});

test('ChunkedDecoder rejects a chunk size over thirteen hex digits', () => {
  // 13 digits still fit a safe integer (16^13 = 2^52); the body is cut short, but the size line is read.
  const decoder = new ChunkedDecoder();
  assert.equal(decoder.push(bytes('fffffffffffff\r\n'), () => {}), 15);
  assert.equal(decoder.done, false);
  rejects('10000000000000\r\n');
  rejects('00000000000000\r\n\r\n');
});

test('ChunkedDecoder rejects chunk data not followed by CRLF', () => {
  rejects('5\r\nhelloX\r\n0\r\n\r\n');
  rejects('5\r\nhello\rX0\r\n\r\n');
  rejects('5\r\nhello\n0\r\n\r\n');
  rejects('5\r\nhello0\r\n\r\n');
  rejects('3\r\nhello\r\n0\r\n\r\n');
});

test('ChunkedDecoder rejects a chunk-size line ended by a bare LF or a bare CR', () => {
  rejects('5\nhello\r\n0\r\n\r\n');
  rejects('5;ext\nhello\r\n0\r\n\r\n');
  rejects('5;ext\n\r\nhello\r\n0\r\n\r\n');
  rejects('5\rhello\r\n0\r\n\r\n');
  rejects('5;ext\rhello\r\n0\r\n\r\n');
  rejects('0\n\r\n');
  rejects('0;a=b\n\r\n');
});

test('ChunkedDecoder rejects a message whose end is not CRLF', () => {
  rejects('0\r\n\rX');
  rejects('0\r\nX-Trailer: 1\rX\r\n');
});

test('ChunkedDecoder rejects a trailer line ended by a bare LF', () => {
  // A bare LF is rejected in chunk-size lines; the trailer section is read to the same rule.
  rejects('0\r\nX-Trailer: 1\nX-Other: 2\r\n\r\n');
  rejects('0\r\n\n\r\n\r\n');
});

test(`ChunkedDecoder accepts a chunk-size line of MAX_CHUNK_LINE_BYTES (${MAX_CHUNK_LINE_BYTES}) and rejects a longer one`, () => {
  const line = (length: number) => `5;${'e'.repeat(length - 2)}`;
  assert.equal(line(MAX_CHUNK_LINE_BYTES).length, MAX_CHUNK_LINE_BYTES);
  const fits = decode(bytes(`${line(MAX_CHUNK_LINE_BYTES)}\r\nhello\r\n0\r\n\r\n`), [100, 4000]);
  assert.equal(fits.body.toString(), 'hello');
  assert.equal(fits.done, true);
  rejects(`${line(MAX_CHUNK_LINE_BYTES + 1)}\r\nhello\r\n0\r\n\r\n`);
  // Also when the extension never ends: the bound holds before a CR arrives.
  assert.throws(() => decode(bytes(line(MAX_CHUNK_LINE_BYTES + 1)), [1000, 2000, 3000]), BadResponseError);
});

test('ChunkedDecoder bounds each chunk-size line on its own, not their sum', () => {
  const ext = `;${'e'.repeat(MAX_CHUNK_LINE_BYTES - 3)}`;
  const chunk = `1${ext}\r\nx\r\n`;
  const decoded = decode(bytes(`${chunk.repeat(4)}0${ext}\r\n\r\n`));
  assert.equal(decoded.body.toString(), 'xxxx');
  assert.equal(decoded.done, true);
});

test(`ChunkedDecoder accepts trailers of MAX_TRAILER_BYTES (${MAX_TRAILER_BYTES}) and rejects longer ones`, () => {
  // The bound counts the trailer lines' bytes without their CRLFs.
  const trailers = (total: number) => {
    const lines: string[] = [];
    for (let left = total; left > 0; left -= Math.min(left, 1000)) lines.push(`x:${'t'.repeat(Math.min(left, 1000) - 2)}`);
    return lines.map((l) => `${l}\r\n`).join('');
  };
  const fits = decode(bytes(`3\r\nabc\r\n0\r\n${trailers(MAX_TRAILER_BYTES)}\r\n`), [7, 5000, 12000]);
  assert.equal(fits.body.toString(), 'abc');
  assert.equal(fits.done, true);
  rejects(`3\r\nabc\r\n0\r\n${trailers(MAX_TRAILER_BYTES + 1)}\r\n`);
  assert.throws(() => decode(bytes(`0\r\nx:${'t'.repeat(MAX_TRAILER_BYTES)}`)), BadResponseError);
});

test('ChunkedDecoder propagates an error thrown by onData and reads nothing more', () => {
  const decoder = new ChunkedDecoder();
  const stop = new Error('sink refused');
  assert.throws(
    () =>
      decoder.push(bytes('3\r\nabc\r\n0\r\n\r\n'), () => {
        throw stop;
      }),
    (error) => error === stop,
  );
  assert.equal(decoder.done, false);
});
