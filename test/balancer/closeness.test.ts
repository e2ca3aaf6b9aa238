import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeness, UNLISTED_REGION_GAP_MS } from '../../src/balancer/closeness.ts';

test('closeness gives the own region 0 even when the table says otherwise', () => {
  assert.equal(closeness({ iad: 12, sjc: 60 }, 'iad')('iad'), 0);
  assert.equal(closeness({}, 'iad')('iad'), 0);
});

test('closeness gives listed regions their configured RTT', () => {
  const rtt = closeness({ iad: 0, sjc: 62, ams: 80 }, 'iad');
  assert.equal(rtt('sjc'), 62);
  assert.equal(rtt('ams'), 80);
});

test('closeness puts every unlisted region after all listed ones, all equally far', () => {
  const rtt = closeness({ iad: 0, sjc: 62, ams: 80 }, 'iad');
  assert.equal(rtt('nrt'), 80 + UNLISTED_REGION_GAP_MS);
  assert.equal(rtt('syd'), rtt('nrt'));
  assert.ok(rtt('nrt') > rtt('ams'));
});

test('closeness with an empty table puts other regions after the own one', () => {
  const rtt = closeness({}, 'iad');
  assert.ok(rtt('sjc') > rtt('iad'));
});

test('closeness does not treat inherited object keys as regions', () => {
  const rtt = closeness({ iad: 0, sjc: 62 }, 'iad');
  assert.equal(rtt('constructor'), 62 + UNLISTED_REGION_GAP_MS);
});

test('closeness rejects a negative or non-finite RTT with a RangeError', () => {
  assert.throws(() => closeness({ sjc: -1 }, 'iad'), RangeError);
  assert.throws(() => closeness({ sjc: Number.POSITIVE_INFINITY }, 'iad'), RangeError);
  assert.throws(() => closeness({ sjc: Number.NaN }, 'iad'), RangeError);
});

test('closeness rejects an empty own region with a TypeError', () => {
  assert.throws(() => closeness({}, ''), TypeError);
});
