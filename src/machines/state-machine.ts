/**
 * The machine state machine (spec §14 "Machine states"): which actions are allowed from which
 * state, and through which transient state each one passes. Pure: values in, values out.
 */
import { MACHINE_STATES, type MachineState } from '../catalog/types.ts';

/** MachineAction is something asked of a machine. */
export type MachineAction = 'start' | 'stop' | 'suspend' | 'destroy';

/** MACHINE_ACTIONS lists every action, for table tests and validation. */
export const MACHINE_ACTIONS = ['start', 'stop', 'suspend', 'destroy'] as const satisfies readonly MachineAction[];

/**
 * Decision is what an action does from a state: `go` passes through `via` to `to`; `noop` means
 * the machine is already where the action leads (it succeeds and changes nothing); `refuse`
 * means the action is not allowed (the supervisor answers PM08).
 */
export type Decision =
  | { type: 'go'; via: MachineState; to: MachineState }
  | { type: 'noop' }
  | { type: 'refuse' };

interface ActionRule {
  via: MachineState;
  to: MachineState;
  /** States the action starts from. */
  from: readonly MachineState[];
  /** States where the action is already done. */
  done: readonly MachineState[];
}

/**
 * ACTION_RULES is the transition table. `starting` is a `from` state of stop so that a stop
 * cancels a pending restart; stop from a machine that runs nothing (created, failed) is done.
 * Transient states other than `starting` are never seen by an action: the supervisor runs one
 * action per machine at a time, and treats a transient state left by a crash as `stopped`.
 */
export const ACTION_RULES: Readonly<Record<MachineAction, ActionRule>> = {
  start: { via: 'starting', to: 'started', from: ['created', 'stopped', 'suspended', 'failed'], done: ['started'] },
  stop: { via: 'stopping', to: 'stopped', from: ['started', 'starting', 'suspended'], done: ['stopped', 'created', 'failed'] },
  suspend: { via: 'suspending', to: 'suspended', from: ['started'], done: ['suspended'] },
  destroy: {
    via: 'destroying',
    to: 'destroyed',
    from: MACHINE_STATES.filter((state) => state !== 'destroyed'),
    done: ['destroyed'],
  },
};

/** decide says what `action` does from `state`. */
export function decide(state: MachineState, action: MachineAction): Decision {
  const rule = ACTION_RULES[action];
  if (rule.done.includes(state)) return { type: 'noop' };
  if (rule.from.includes(state)) return { type: 'go', via: rule.via, to: rule.to };
  return { type: 'refuse' };
}

/** TRANSIENT_STATES are the states a machine is in only while an action runs. */
export const TRANSIENT_STATES: readonly MachineState[] = ['starting', 'stopping', 'suspending', 'destroying'];

/**
 * settledState is the state a record shows when no process backs it: a machine recorded as
 * running (or mid-action) with nothing behind it, e.g. after Ricochet restarted, is `stopped`.
 */
export function settledState(state: MachineState, hasProcess: boolean): MachineState {
  if (hasProcess) return state;
  if (state === 'started' || state === 'suspended' || TRANSIENT_STATES.includes(state)) {
    return state === 'destroying' ? 'destroying' : 'stopped';
  }
  return state;
}
