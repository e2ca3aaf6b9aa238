import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCookie } from '../../src/replay/cache-cookie.ts';

test('readCookie finds one cookie among several, with or without spaces', () => {
  assert.equal(readCookie('a=1; sid=abc; b=2', 'sid'), 'abc');
  assert.equal(readCookie('a=1;sid=abc;b=2', 'sid'), 'abc');
  assert.equal(readCookie('  sid = abc  ;b=2', 'sid'), 'abc');
  assert.equal(readCookie('sid=abc', 'sid'), 'abc');
});

test('readCookie removes surrounding double quotes', () => {
  assert.equal(readCookie('sid="abc def"; b=2', 'sid'), 'abc def');
  assert.equal(readCookie('sid="', 'sid'), '"');
});

test('readCookie keeps = signs inside the value', () => {
  assert.equal(readCookie('sid=YWJj==; b=2', 'sid'), 'YWJj==');
});

test('readCookie returns the first value when a name repeats', () => {
  assert.equal(readCookie('sid=first; sid=second', 'sid'), 'first');
});

test('readCookie compares names exactly and case-sensitively', () => {
  assert.equal(readCookie('sid2=x; xsid=y; SID=z', 'sid'), undefined);
  assert.equal(readCookie('SID=z', 'SID'), 'z');
});

test('readCookie skips pairs without = and handles an absent or empty header', () => {
  assert.equal(readCookie('flag; sid=abc', 'sid'), 'abc');
  assert.equal(readCookie('sid', 'sid'), undefined);
  assert.equal(readCookie('', 'sid'), undefined);
  assert.equal(readCookie(undefined, 'sid'), undefined);
  assert.equal(readCookie('sid=; b=2', 'sid'), '');
  assert.equal(readCookie('a=1;;; sid=abc;', 'sid'), 'abc');
});
