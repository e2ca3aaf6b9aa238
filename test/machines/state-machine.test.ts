import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MACHINE_STATES, type MachineState } from '../../src/catalog/types.ts';
import { decide, settledState, type Decision, type MachineAction } from '../../src/machines/state-machine.ts';

const GO = {
  start: { type: 'go', via: 'starting', to: 'started' },
  stop: { type: 'go', via: 'stopping', to: 'stopped' },
  suspend: { type: 'go', via: 'suspending', to: 'suspended' },
  destroy: { type: 'go', via: 'destroying', to: 'destroyed' },
} as const satisfies Record<MachineAction, Decision>;
const NOOP: Decision = { type: 'noop' };
const REFUSE: Decision = { type: 'refuse' };

/** Every state x action, in one table: [state, start, stop, suspend, destroy]. */
const TABLE: [MachineState, Decision, Decision, Decision, Decision][] = [
  ['created', GO.start, NOOP, REFUSE, GO.destroy],
  ['starting', REFUSE, GO.stop, REFUSE, GO.destroy],
  ['started', NOOP, GO.stop, GO.suspend, GO.destroy],
  ['stopping', REFUSE, REFUSE, REFUSE, GO.destroy],
  ['stopped', GO.start, NOOP, REFUSE, GO.destroy],
  ['suspending', REFUSE, REFUSE, REFUSE, GO.destroy],
  ['suspended', GO.start, GO.stop, NOOP, GO.destroy],
  ['destroying', REFUSE, REFUSE, REFUSE, GO.destroy],
  ['destroyed', REFUSE, REFUSE, REFUSE, NOOP],
  ['failed', GO.start, NOOP, REFUSE, GO.destroy],
];

test('the table covers every machine state', () => {
  assert.deepEqual(TABLE.map(([state]) => state).sort(), [...MACHINE_STATES].sort());
});

for (const [state, start, stop, suspend, destroy] of TABLE) {
  test(`decide from ${state}: start ${start.type}, stop ${stop.type}, suspend ${suspend.type}, destroy ${destroy.type}`, () => {
    assert.deepEqual(decide(state, 'start'), start);
    assert.deepEqual(decide(state, 'stop'), stop);
    assert.deepEqual(decide(state, 'suspend'), suspend);
    assert.deepEqual(decide(state, 'destroy'), destroy);
  });
}

test('settledState keeps every state while a process backs the machine', () => {
  for (const state of MACHINE_STATES) assert.equal(settledState(state, true), state);
});

test('settledState turns a running or transient record without a process into stopped', () => {
  const cases: [MachineState, MachineState][] = [
    ['started', 'stopped'],
    ['suspended', 'stopped'],
    ['starting', 'stopped'],
    ['stopping', 'stopped'],
    ['suspending', 'stopped'],
    ['destroying', 'destroying'],
    ['created', 'created'],
    ['stopped', 'stopped'],
    ['failed', 'failed'],
    ['destroyed', 'destroyed'],
  ];
  for (const [state, settled] of cases) assert.equal(settledState(state, false), settled, state);
});
