import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter } from '../../src/machines/drivers/line-splitter.ts';

test('LineSplitter returns complete lines and keeps the rest for the next chunk', () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push('one\ntw'), [{ text: 'one', truncated: false }]);
  assert.deepEqual(splitter.push('o\r\nthree'), [{ text: 'two', truncated: false }]);
  assert.deepEqual(splitter.end(), [{ text: 'three', truncated: false }]);
  assert.deepEqual(splitter.end(), []);
});

test('LineSplitter cuts a line longer than the bound into marked pieces', () => {
  const splitter = new LineSplitter(4);
  assert.deepEqual(splitter.push('abcdefghij\n'), [
    { text: 'abcd', truncated: true },
    { text: 'efgh', truncated: true },
    { text: 'ij', truncated: false },
  ]);
});

test('LineSplitter bounds memory when no newline ever comes', () => {
  const splitter = new LineSplitter(4);
  assert.deepEqual(splitter.push('abcdef'), [{ text: 'abcd', truncated: true }]);
  assert.deepEqual(splitter.push('ghi'), [{ text: 'efgh', truncated: true }]);
  assert.deepEqual(splitter.end(), [{ text: 'i', truncated: false }]);
});

test('LineSplitter decodes a UTF-8 character split across chunks', () => {
  const splitter = new LineSplitter();
  const bytes = Buffer.from('é\n');
  assert.deepEqual(splitter.push(bytes.subarray(0, 1)), []);
  assert.deepEqual(splitter.push(bytes.subarray(1)), [{ text: 'é', truncated: false }]);
});

test('LineSplitter rejects a bound that is not a positive integer', () => {
  assert.throws(() => new LineSplitter(0), RangeError);
});
