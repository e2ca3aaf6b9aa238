import assert from 'node:assert/strict';
import test from 'node:test';
import { parseReplayHeader, ReplayParseError } from '../../src/replay/directive.ts';
import { parseReplayHeaderOnce } from '../../src/replay/plan.ts';

test('parseReplayHeaderOnce hands out one frozen directive per value, equal to a fresh parse', () => {
  const first = parseReplayHeaderOnce('region=iad,ord;app=once-target');
  const again = parseReplayHeaderOnce(['region=iad,ord', 'app=once-target'].join(';'));
  assert.equal(again, first);
  assert.deepEqual(first, parseReplayHeader('region=iad,ord;app=once-target'));
  assert.ok(Object.isFrozen(first));
  assert.ok(Object.isFrozen(first.regions));
  assert.notEqual(parseReplayHeaderOnce('app=other-target'), first);
});

test('parseReplayHeaderOnce throws for an invalid value every time, and stays right past its size bound', () => {
  for (let i = 0; i < 2; i++) {
    assert.throws(() => parseReplayHeaderOnce('app=once;app=twice'), ReplayParseError);
  }
  // Far more distinct values than the memo holds: each still reads as itself.
  for (let i = 0; i < 300; i++) {
    assert.equal(parseReplayHeaderOnce(`app=app-${i}`).app, `app-${i}`);
  }
  assert.equal(parseReplayHeaderOnce('app=app-7').app, 'app-7');
});
