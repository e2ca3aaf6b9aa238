import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MACHINE_ID_PATTERN } from '../../src/catalog/types.ts';
import { deriveMachineId } from '../../src/config/load.ts';

test('deriveMachineId returns 14 lowercase hex characters', () => {
  for (const [app, group, ordinal] of [['router', 0, 0], ['a', 3, 41], ['tenant-123', 999, 0]] as const) {
    assert.match(deriveMachineId(app, group, ordinal), MACHINE_ID_PATTERN);
  }
});

test('deriveMachineId gives the same id for the same app, group and ordinal', () => {
  // Pinned: sha256("ricochet-machine\0router\00\00") prefix. A change here changes every
  // config-declared machine id, which breaks instance= replays across an upgrade.
  assert.equal(deriveMachineId('router', 0, 0), deriveMachineId('router', 0, 0));
  assert.equal(deriveMachineId('router', 0, 0), 'd4dc99896db464');
});

test('deriveMachineId gives different ids when the app, the group or the ordinal differs', () => {
  const ids = new Set<string>();
  for (const app of ['router', 'tenant', 'router0']) {
    for (let group = 0; group < 5; group++) {
      for (let ordinal = 0; ordinal < 20; ordinal++) ids.add(deriveMachineId(app, group, ordinal));
    }
  }
  assert.equal(ids.size, 3 * 5 * 20);
  // "router" group 1 ordinal 0 must not collide with "router" group 0 ordinal 10 and the like.
  assert.notEqual(deriveMachineId('router', 1, 0), deriveMachineId('router', 0, 10));
});

test('deriveMachineId refuses an empty app and negative or fractional numbers', () => {
  assert.throws(() => deriveMachineId('', 0, 0), RangeError);
  assert.throws(() => deriveMachineId('a', -1, 0), RangeError);
  assert.throws(() => deriveMachineId('a', 0, 1.5), RangeError);
});
